import FinetunedNetwork
import Foundation

/// Checks a request's SigV4 `Authorization` header the way a service does: re-signs the
/// request with the secret of the key it names and compares. It uses our signer, so a test
/// also drives the emulator with botocore to show that what botocore signs passes here too.
enum SignatureCheck {
    /// nil when the signature is right; otherwise why not, in the service's words.
    static func failure(_ request: ReceivedRequest, secrets: [String: String], region: String, now: Date = Date()) -> (code: String, message: String)?
    {
        guard let authorization = request.header("Authorization"), authorization.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return ("MissingAuthenticationTokenException", "Missing Authentication Token")
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedList = fields["SignedHeaders"], let signature = fields["Signature"] else {
            return ("IncompleteSignatureException", "Authorization header requires Credential, SignedHeaders and Signature")
        }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else { return ("IncompleteSignatureException", "malformed credential scope") }
        guard let secret = secrets[scope[0]] else {
            return ("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        guard scope[2] == region else { return ("InvalidSignatureException", "Credential should be scoped to a valid region, not '\(scope[2])'.") }
        guard let amzDate = request.header("X-Amz-Date"), let date = parseDate(amzDate), amzDate.hasPrefix(scope[1]) else {
            return ("IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope")
        }
        if abs(date.timeIntervalSince(now)) > 15 * 60 {
            return ("InvalidSignatureException", "Signature expired: \(amzDate) is not within 15 minutes of the server's time")
        }
        let signed = Set(signedList.split(separator: ";").map { $0.lowercased() })
        guard signed.contains("host") else { return ("InvalidSignatureException", "the Host header must be signed") }
        let added: Set<String> = ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]
        let headers = request.headers.filter { signed.contains($0.0.lowercased()) && !added.contains($0.0.lowercased()) }
        let token = request.header("X-Amz-Security-Token")
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: scope[0], secretAccessKey: secret, sessionToken: token),
            region: scope[2], service: scope[3])
        let expected = signer.sign(
            SigV4Request(
                method: request.method, path: request.path, query: request.query,
                headers: headers.map { ($0.0, $0.1) }, body: request.body),
            date: date, signPayloadHeader: signed.contains("x-amz-content-sha256"),
            signSessionToken: signed.contains("x-amz-security-token"))
        guard expected.signature == signature else {
            return ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
        }
        return nil
    }

    /// The access key id a SigV4 `Authorization` header names, if it names one.
    static func accessKey(of request: ReceivedRequest) -> String? {
        guard let authorization = request.header("Authorization"), let start = authorization.range(of: "Credential=") else { return nil }
        let rest = authorization[start.upperBound...]
        let key = rest.prefix { $0 != "/" && $0 != "," }
        return key.isEmpty ? nil : String(key)
    }

    static func parseDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: text)
    }
}
