import AsyncHTTPClient
import FinetunedTime
import NIOCore
import NIOHTTP1

/// How the daemon speaks HTTP: async-http-client's pooled connections (kept alive between
/// requests, so a workflow's hundreds of model calls pay one TLS handshake, not one each),
/// with what every caller here needs on top: a deadline for the whole exchange, a bounded
/// response, and a trust store chosen per endpoint.
///
/// It follows no redirects: the AWS APIs answer where they are asked, and a webhook that
/// moved should be reconfigured, not silently followed with a signed body. Responses are read
/// whole, up to `maxResponseBytes`, because every body this daemon reads (JSON, S3's XML, a
/// metrics CSV) is small.
public struct HTTPTransport: Sendable {
    public let timeout: Duration
    /// PEM certificates to trust instead of the system's store: a private CA in front of an
    /// endpoint (a VPC proxy, an internal webhook receiver, the tests' own CA).
    public let caFile: String?
    public let maxResponseBytes: Int

    public init(timeout: Duration = .seconds(30), caFile: String? = nil, maxResponseBytes: Int = 32 << 20) {
        self.timeout = timeout
        self.caFile = caFile
        self.maxResponseBytes = maxResponseBytes
    }

    public func post(_ url: String, headers: [(String, String)], body: [UInt8]) async throws(HTTPTransportError) -> HTTPResponse {
        try await send(HTTPRequest(method: "POST", url: url, headers: headers, body: body))
    }

    public func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        _ = try HTTPTarget(request.url)
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        // A GET carries no body at all, not an empty one: some servers refuse a GET with a length.
        if !request.body.isEmpty || request.method != "GET" { outgoing.body = .bytes(ByteBuffer(bytes: request.body)) }
        let client: AsyncHTTPClient.HTTPClient
        do { client = try HTTPPools.client(trusting: caFile) } catch { throw .tls(error.description) }
        let limit = maxResponseBytes, timeout = self.timeout, prepared = outgoing
        do {
            // The library's own deadline ends when the response's head arrives; the body is
            // read inside the same timeout, so a server that trickles it cannot hold us.
            return try await Timers.withTimeout(timeout) {
                let response = try await client.execute(prepared, deadline: .now() + TimeAmount(timeout))
                let body = try await response.body.collect(upTo: limit)
                return HTTPResponse(
                    status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                    body: Array(body.readableBytesView))
            }
        } catch {
            throw HTTPTransportError(error, limit: limit)
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = nanoseconds.overflow ? .hours(24 * 365) : .nanoseconds(nanoseconds.partialValue + attoseconds / 1_000_000_000)
    }
}

public enum HTTPTransportError: Error, Sendable, Equatable, CustomStringConvertible {
    case badURL(String)
    case connectionFailed(String)
    case tls(String)
    case timeout
    case responseTooLarge(Int)

    public var description: String {
        switch self {
        case .badURL(let url): "not an http:// or https:// URL: \(url)"
        case .connectionFailed(let message): "HTTP connection failed: \(message)"
        case .tls(let message): "HTTPS: \(message)"
        case .timeout: "the HTTP server did not answer in time"
        case .responseTooLarge(let limit): "the HTTP response is larger than \(limit) bytes"
        }
    }

    /// What the library threw, as the few cases callers act on (a timeout is retried, a TLS
    /// failure is a configuration problem).
    init(_ error: any Error, limit: Int) {
        switch error {
        case let error as HTTPTransportError: self = error
        case is TimedOut: self = .timeout
        case is NIOTooManyBytesError: self = .responseTooLarge(limit)
        case let error as AsyncHTTPClient.HTTPClientError where error == .deadlineExceeded || error == .connectTimeout || error == .readTimeout:
            self = .timeout
        default: self = ClientTLS.failure(error).map { .tls($0) } ?? .connectionFailed("\(error)")
        }
    }
}
