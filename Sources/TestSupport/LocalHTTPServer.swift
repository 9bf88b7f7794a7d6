import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A request as a `LocalHTTPServer` received it.
public struct ReceivedRequest: Sendable {
    public var method: String
    /// Path and query as sent.
    public var uri: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var path: String { String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]) }
    public var query: String {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count > 1 ? String(parts[1]) : ""
    }
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What the server does with a request.
public enum ServerAction: Sendable {
    case respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = [])
    /// Closes the connection without answering (a reset, from the client's side).
    case dropConnection

    public static func json(_ status: Int, _ text: String, headers: [(String, String)] = []) -> ServerAction {
        .respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(text.utf8))
    }

    public static func text(_ status: Int, _ text: String) -> ServerAction {
        .respond(status: status, headers: [("Content-Type", "text/plain")], body: Array(text.utf8))
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 (a free port) whose answers a test writes as a
/// function: the peer for the container and instance-metadata credential endpoints, and
/// the transport of the Bedrock emulator.
public final class LocalHTTPServer: Sendable {
    public typealias Handler = @Sendable (ReceivedRequest) async -> ServerAction
    public let port: Int
    public let secure: Bool
    private let channel: Channel
    private let accepted: Arc<Atomic<Int>>

    /// Listens on `port` of 127.0.0.1, or on a free one when it is 0.
    /// - Parameters:
    ///   - tls: serve HTTPS with this context (the tests' own CA signs its certificate).
    ///   - keepAlive: false closes every connection after one response, as a server that
    ///     does not keep connections would, so every request costs a new one.
    public init(port requested: Int = 0, tls: NIOSSLContext? = nil, keepAlive: Bool = true, handler: @escaping Handler) async throws {
        let accepted = Arc(Atomic<Int>(0))
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.value.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(handler: handler, keepAlive: keepAlive))
                }
            }
            .bind(host: "127.0.0.1", port: requested).get()
        port = channel.localAddress?.port ?? 0
        secure = tls != nil
        self.accepted = accepted
    }

    public var baseURL: String { "\(secure ? "https" : "http")://127.0.0.1:\(port)" }

    /// Connections accepted so far.
    public var connectionsAccepted: Int { accepted.value.load(ordering: .relaxed) }

    public func stop() async {
        try? await channel.close().get()
    }
}

private final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let handler: LocalHTTPServer.Handler
    let serverKeepsAlive: Bool
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(handler: @escaping LocalHTTPServer.Handler, keepAlive: Bool) {
        self.handler = handler
        serverKeepsAlive = keepAlive
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
        case .end:
            guard let head else { return }
            let request = ReceivedRequest(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                body: body)
            let keepAlive = head.isKeepAlive && serverKeepsAlive
            let channel = context.channel
            let handler = self.handler
            Task {
                let action = await handler(request)
                switch action {
                case .dropConnection:
                    channel.close(promise: nil)
                case .respond(let status, let headers, let body):
                    var responseHead = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status))
                    for (name, value) in headers { responseHead.headers.add(name: name, value: value) }
                    responseHead.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
                    if !keepAlive { responseHead.headers.replaceOrAdd(name: "Connection", value: "close") }
                    let payload = channel.allocator.buffer(bytes: body)
                    let finalHead = responseHead
                    channel.eventLoop.execute {
                        channel.write(HTTPServerResponsePart.head(finalHead), promise: nil)
                        channel.write(HTTPServerResponsePart.body(.byteBuffer(payload)), promise: nil)
                        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                            if !keepAlive { channel.close(promise: nil) }
                        }
                    }
                }
            }
        }
    }
}

/// A value shared by reference between a server and the closures it hands to SwiftNIO.
final class Arc<Value: ~Copyable>: Sendable where Value: Sendable {
    let value: Value
    init(_ value: consuming Value) { self.value = value }
}
