import FinetunedText
import Foundation

/// An AWS API call that did not succeed, as the service (or the network) said it.
public struct AWSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The HTTP status; 0 when no answer came (timeout, refused, reset).
    public var status: Int
    /// The service's error code (`ValidationException`, `NoSuchKey`, …), or a transport name.
    public var code: String
    public var message: String
    public var requestID: String?
    /// From `Retry-After`, when the service sent it.
    public var retryAfter: Duration?

    public init(status: Int, code: String, message: String, requestID: String? = nil, retryAfter: Duration? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.requestID = requestID
        self.retryAfter = retryAfter
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
        "SlowDown", "ProvisionedThroughputExceededException", "RequestThrottled", "RequestThrottledException",
        "ModelNotReadyException",
    ]
    static let transientCodes: Set<String> = [
        "InternalServerException", "InternalFailure", "InternalError", "ServiceUnavailable", "ServiceUnavailableException",
        "RequestTimeout", "RequestTimeoutException", "ModelTimeoutException",
    ]
    static let expiredCredentialCodes: Set<String> = ["ExpiredToken", "ExpiredTokenException", "RequestExpired"]

    public var isThrottling: Bool { status == 429 || Self.throttlingCodes.contains(code) }
    /// Worth another try as it is: throttling, 5xx, no answer. Validation, access, quota
    /// and not-found errors need a person, not a retry.
    public var isRetryable: Bool {
        guard code != Self.localFileCode else { return false }  // our own file: another try reads the same
        return isThrottling || status == 0 || [500, 502, 503, 504].contains(status) || Self.transientCodes.contains(code)
    }

    /// The code of an error reading a local file for an upload (no request was answered).
    public static let localFileCode = "LocalFileError"
    public var isExpiredCredentials: Bool { Self.expiredCredentialCodes.contains(code) }

    /// The service's error code; for an answer that carried none (a proxy's page), the HTTP
    /// status with its name, so the one line still says what came back.
    public var label: String {
        status != 0 && code == HTTPStatusName.name(status) ? "HTTP \(status) \(code)" : code
    }

    public var description: String {
        let what = status == 0 ? code : "HTTP \(status) \(code)"
        return "\(what): \(message)" + (requestID.map { " (request \($0))" } ?? "")
    }

    /// Reads the error the way the AWS protocols write it: `x-amzn-errortype`, a JSON body's
    /// `__type` / `code` / `Code` (possibly `namespace#Name` or `Name:uri`), or an XML
    /// `<Code>`; the message from `message` / `Message` / `<Message>`.
    public static func parse(_ response: HTTPResponse) -> AWSError {
        var code = response.header("x-amzn-errortype").map(cleanCode)
        var message: String?
        let text = response.text
        if let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] {
            if code == nil { code = ((object["__type"] ?? object["code"] ?? object["Code"]) as? String).map(cleanCode) }
            message = (object["message"] ?? object["Message"] ?? object["errorMessage"]) as? String
        } else if text.contains("<") {
            if code == nil { code = XMLText.first("Code", in: text) }
            message = XMLText.first("Message", in: text)
        }
        let fallback = HTTPStatusName.name(response.status)
        let requestID = response.header("x-amzn-requestid") ?? response.header("x-amz-request-id") ?? XMLText.first("RequestId", in: text)
        let retryAfter = response.header("retry-after").flatMap(retryDelay)
        return AWSError(
            status: response.status, code: OneLine.of(code ?? fallback, limit: 100),
            message: message.map { OneLine.of($0, limit: 500) } ?? bodySummary(text, fallback: fallback),
            requestID: requestID.map { OneLine.of($0, limit: 100) }, retryAfter: retryAfter)
    }

    /// `Retry-After` as RFC 9110 delay-seconds (digits only); an HTTP date, a fraction, `inf`
    /// or an absurd number is ignored and our own backoff applies. Capped at an hour: a
    /// server's number must not park a workflow for a year or trap a conversion.
    static func retryDelay(_ header: String) -> Duration? {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        guard let seconds = Int(text) else { return .seconds(3600) }
        return .seconds(min(seconds, 3600))
    }

    /// A body that is not an AWS error (a proxy's or a load balancer's page, an emulator's
    /// HTML): its first 200 characters of text, without markup or line breaks. The whole
    /// page once went into the journal, several lines of it.
    static func bodySummary(_ text: String, fallback: String) -> String {
        let words = text.contains("<") ? OneLine.words(ofMarkup: text, limit: 200) : OneLine.of(text, limit: 200)
        return words.isEmpty ? fallback : words
    }

    static func cleanCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        return code.trimmingCharacters(in: .whitespaces)
    }
}

enum HTTPStatusName {
    static func name(_ status: Int) -> String {
        switch status {
        case 400: "BadRequest"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 409: "Conflict"
        case 429: "TooManyRequests"
        case 500: "InternalServerError"
        case 502: "BadGateway"
        case 503: "ServiceUnavailable"
        case 504: "GatewayTimeout"
        default: "HTTP\(status)"
        }
    }
}
