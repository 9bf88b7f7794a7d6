import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One HTTP/1.1 exchange with an `http://` or `https://` URL (TLS from `TLSClientHandler`,
/// the server's certificate always verified), with a deadline for the whole exchange.
///
/// It opens a connection per request and follows no redirects: the AWS APIs answer where
/// they are asked, and a webhook that moved should be reconfigured, not silently followed
/// with a signed body. Responses are read whole, up to `maxResponseBytes`, because every
/// body this daemon reads (JSON, S3's XML, a metrics CSV) is small.
public struct HTTPClient: Sendable {
    public let timeout: Duration
    public let caFile: String?
    public let maxResponseBytes: Int
    /// The TLS context, built on the first HTTPS request and shared by the client's copies:
    /// loading the trust store for every InvokeModel call would read and parse it each time.
    private let tlsContext = SharedTLSContext()

    public init(timeout: Duration = .seconds(30), caFile: String? = nil, maxResponseBytes: Int = 32 << 20) {
        self.timeout = timeout
        self.caFile = caFile
        self.maxResponseBytes = maxResponseBytes
    }

    public func post(_ url: String, headers: [(String, String)], body: [UInt8]) async throws(HTTPClientError) -> HTTPResponse {
        try await send(HTTPRequest(method: "POST", url: url, headers: headers, body: body))
    }

    public func send(_ request: HTTPRequest) async throws(HTTPClientError) -> HTTPResponse {
        let target = try HTTPTarget(request.url)
        let tls: TLSClientContext?
        do { tls = target.secure ? try tlsContext.get(caFile: caFile) : nil } catch { throw .tls(error.description) }

        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: HTTPResponse.self)
        let limit = maxResponseBytes
        let seconds = max(1, timeout.components.seconds)
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(seconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(TLSClientHandler(context: tls, host: target.host)) }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise, limit: limit))
                    }
                }
                .connect(host: target.host, port: target.port).get()
        } catch {
            promise.fail(error)  // nothing will complete it now; an uncompleted promise is a leak
            throw .connectionFailed("\(target.host):\(target.port): \(error)")
        }
        let timedOut = TimeoutFlag()
        let timer = channel.eventLoop.scheduleTask(in: .seconds(seconds)) {
            timedOut.set()
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: target.pathAndQuery)
        if !request.headers.contains(where: { $0.0.lowercased() == "host" }) { head.headers.add(name: "Host", value: target.hostHeader) }
        head.headers.add(name: "Content-Length", value: String(request.body.count))
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        let requestHead = head
        let payload = channel.allocator.buffer(bytes: request.body)
        channel.eventLoop.execute {
            channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
            if payload.readableBytes > 0 { channel.write(HTTPClientRequestPart.body(.byteBuffer(payload)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        do {
            let response = try await promise.futureResult.get()
            try? await channel.close().get()
            return response
        } catch _ where timedOut.isSet {
            throw .timeout
        } catch let error as HTTPClientError {
            throw error
        } catch let error as TLSError {
            throw .tls(error.description)
        } catch {
            throw .connectionFailed("\(error)")
        }
    }
}

/// One TLS context, made when first needed; a failure is not kept, so a trust store fixed
/// later is picked up by the next request.
final class SharedTLSContext: Sendable {
    private let context = Mutex<TLSClientContext?>(nil)

    func get(caFile: String?) throws(TLSError) -> TLSClientContext {
        try context.withLock { (stored: inout TLSClientContext?) throws(TLSError) -> TLSClientContext in
            if let stored { return stored }
            let made = try TLSClientContext(caFile: caFile)
            stored = made
            return made
        }
    }
}

/// A request as the caller means it: `url` already percent-encoded where the API wants it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Scheme, host, port and the request target, split once from a URL.
public struct HTTPTarget: Sendable, Equatable {
    public var secure: Bool
    public var host: String
    public var port: Int
    public var pathAndQuery: String
    /// `Host:` as the server expects it: the port only when it is not the scheme's default.
    public var hostHeader: String

    public init(_ url: String) throws(HTTPClientError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw .badURL(url)
        }
        secure = scheme == "https"
        self.host = host
        port = components.port ?? (secure ? 443 : 80)
        pathAndQuery = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        hostHeader = components.port.map { "\(host):\($0)" } ?? host
    }
}

public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
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
}

/// Gathers the response's status, headers and body; completes the promise at its end.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<HTTPResponse>
    let limit: Int
    var response = HTTPResponse(status: 0, headers: [], body: [])
    var finished = false

    init(promise: EventLoopPromise<HTTPResponse>, limit: Int) {
        self.promise = promise
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            response.status = Int(head.status.code)
            response.headers = head.headers.map { ($0.name, $0.value) }
        case .body(let buffer):
            guard response.body.count + buffer.readableBytes <= limit else {
                finish(.failure(HTTPClientError.responseTooLarge(limit)))
                context.close(promise: nil)
                return
            }
            response.body.append(contentsOf: buffer.readableBytesView)
        case .end: finish(.success(response))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(HTTPClientError.connectionFailed("the server closed the connection before answering")))
        context.fireChannelInactive()
    }

    /// The first outcome wins; a promise is completed once.
    private func finish(_ result: Result<HTTPResponse, Error>) {
        guard !finished else { return }
        finished = true
        promise.completeWith(result)
    }
}
