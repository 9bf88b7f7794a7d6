import FinetunedText
import FinetunedTime
import Foundation
import Metrics

/// Sends signed requests to one AWS service and retries what is worth retrying.
///
/// Throttling, 5xx and lost connections are retried with capped exponential backoff and
/// full jitter (or after the service's `Retry-After`); a request rejected for expired
/// temporary credentials is retried once with fresh ones. Everything else comes back as the
/// service's own error. Retrying a create is safe because every create finetuned sends
/// carries a client token.
public struct AWSServiceClient: Sendable {
    public struct RetryPolicy: Sendable {
        public var maxAttempts: Int
        public var baseDelay: Duration
        public var maxDelay: Duration

        public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10)) {
            self.maxAttempts = maxAttempts
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
        }

        /// Full jitter: uniform in [0, min(cap, base · 2^(attempt-1))].
        func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
            if let retryAfter { return min(retryAfter, maxDelay) }
            let ceiling = min(maxDelay, baseDelay * (1 << min(attempt - 1, 20)))
            let ms = ceiling.seconds * 1000
            return .milliseconds(Int64(Double.random(in: 0...max(ms, 1))))
        }
    }

    public let service: AWSService
    public let endpoints: AWSEndpoints
    public let credentials: CredentialChain
    public let http: HTTPTransport
    public var retry: RetryPolicy

    /// - Parameter http: by default, 30 s per request, trusting the endpoints' CA bundle.
    public init(
        service: AWSService, endpoints: AWSEndpoints, credentials: CredentialChain, http: HTTPTransport? = nil,
        retry: RetryPolicy = RetryPolicy()
    ) {
        self.service = service
        self.endpoints = endpoints
        self.credentials = credentials
        self.http = http ?? HTTPTransport(caFile: endpoints.caBundle)
        self.retry = retry
    }

    public var region: String { endpoints.region }

    /// Sends `method path?query` to the service's endpoint (or to `baseURL`, for S3's
    /// virtual-hosted buckets). `path` is as it goes on the wire, already percent-encoded.
    public func send(
        _ method: String, path: String, query: String = "", headers: [(String, String)] = [], body: [UInt8] = [],
        baseURL: String? = nil
    ) async throws(AWSError) -> HTTPResponse {
        let base = baseURL ?? endpoints.url(for: service)
        let target: HTTPTarget
        do { target = try HTTPTarget(base) } catch { throw AWSError(status: 0, code: "BadEndpoint", message: error.description) }
        // The endpoint may carry a path of its own (a proxy prefix); ours goes under it.
        let prefix = target.pathAndQuery == "/" ? "" : target.pathAndQuery
        let fullPath = prefix + (path.hasPrefix("/") ? path : "/" + path)
        let origin = (target.secure ? "https://" : "http://") + target.hostHeader
        var refreshedOnce = false
        var attempt = 0
        while true {
            attempt += 1
            let provided: ProvidedCredentials
            do { provided = try await credentials.current() } catch {
                throw AWSError(status: 0, code: "Failure", message: error.description)
            }
            let signer = SigV4Signer(credentials: provided.credentials, region: region, service: service.signingName)
            let unsigned = [("Host", target.hostHeader)] + headers
            let signed = signer.sign(
                SigV4Request(method: method, path: fullPath, query: query, headers: unsigned.map { ($0.0, $0.1) }, body: body),
                date: Date(), signPayloadHeader: service == .s3)
            let request = HTTPRequest(
                method: method, url: origin + fullPath + (query.isEmpty ? "" : "?" + query),
                headers: unsigned + signed.headers.map { ($0.name, $0.value) }, body: body)
            let failure: AWSError
            do {
                let response = try await http.send(request)
                if (200..<300).contains(response.status) { return response }
                failure = AWSError.parse(response)
            } catch {
                failure = AWSError(status: 0, code: error == .timeout ? "Timeout" : "ConnectionError", message: error.description)
            }
            if failure.isExpiredCredentials, !refreshedOnce {
                refreshedOnce = true
                await credentials.invalidate()
                continue
            }
            if failure.isThrottling { Counter(label: "finetuned_aws_throttles_total", dimensions: [("service", service.configKey)]).increment() }
            guard failure.isRetryable, attempt < retry.maxAttempts else { throw failure }
            Counter(label: "finetuned_aws_retries_total", dimensions: [("service", service.configKey)]).increment()
            try? await Timers.sleep(for: retry.delay(afterAttempt: attempt, retryAfter: failure.retryAfter))
        }
    }

    /// A JSON API call: encodes the body, decodes the answer.
    public func json<Response: Decodable>(
        _ method: String, path: String, query: String = "", body: (any Encodable)? = nil,
        as type: Response.Type
    ) async throws(AWSError) -> Response {
        let response = try await jsonRaw(method, path: path, query: query, body: body)
        do { return try JSONDecoder().decode(Response.self, from: Data(response.body.isEmpty ? Array("{}".utf8) : response.body)) } catch {
            throw AWSError(
                status: response.status, code: "UnreadableResponse",
                message: "\(service.configKey) answered \(method) \(path) with JSON finetuned cannot read: \(error)")
        }
    }

    public func jsonRaw(
        _ method: String, path: String, query: String = "", body: (any Encodable)? = nil,
        headers extra: [(String, String)] = []
    ) async throws(AWSError) -> HTTPResponse {
        var bytes: [UInt8] = []
        if let body {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            do { bytes = Array(try encoder.encode(body)) } catch { throw AWSError(status: 0, code: "EncodingError", message: "\(error)") }
        }
        var headers = [("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await send(method, path: path, query: query, headers: headers + extra, body: bytes)
    }

    /// A path label encoded as the REST protocols do: everything but unreserved characters
    /// (so an ARN's `:` and `/` become `%3A` and `%2F`).
    public static func label(_ value: String) -> String { SigV4Signer.encode(value) }
}
