import NIOCore
import NIOHTTP1
import NIOPosix

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
    private let channel: Channel

    /// Listens on `port` of 127.0.0.1, or on a free one when it is 0.
    public init(port requested: Int = 0, handler: @escaping Handler) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(handler: handler))
                }
            }
            .bind(host: "127.0.0.1", port: requested).get()
        port = channel.localAddress?.port ?? 0
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() async {
        try? await channel.close().get()
    }
}

private final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let handler: LocalHTTPServer.Handler
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(handler: @escaping LocalHTTPServer.Handler) {
        self.handler = handler
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
            let request = ReceivedRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                                          body: body)
            let keepAlive = head.isKeepAlive
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
