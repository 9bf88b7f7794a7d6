import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 POST to an `http://` or `https://` URL (TLS from `TLSClientHandler`, the
/// server's certificate verified), with a deadline for the whole exchange. Enough for
/// webhooks; it follows no redirects (a webhook that moved should be reconfigured, not
/// silently followed with a signed body).
public struct HTTPPostClient: Sendable {
    public struct Response: Sendable, Equatable {
        public var status: Int
        public var body: String
    }

    public let timeout: Duration
    public let caFile: String?

    public init(timeout: Duration = .seconds(30), caFile: String? = nil) {
        self.timeout = timeout
        self.caFile = caFile
    }

    public func post(_ url: String, headers: [(String, String)], body: [UInt8]) async throws(HTTPPostError) -> Response {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw .badURL(url)
        }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        let path = (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        let tls: TLSClientContext?
        do { tls = scheme == "https" ? try TLSClientContext(caFile: caFile) : nil } catch { throw .tls(error.description) }

        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Response.self)
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(max(1, timeout.components.seconds)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls { try channel.pipeline.syncOperations.addHandler(TLSClientHandler(context: tls, host: host)) }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw .connectionFailed("\(host):\(port): \(error)")
        }
        let timedOut = TimeoutFlag()
        let timer = channel.eventLoop.scheduleTask(in: .seconds(max(1, timeout.components.seconds))) {
            timedOut.set()
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: components.port.map { "\(host):\($0)" } ?? host)
        head.headers.add(name: "Content-Length", value: String(body.count))
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        let requestHead = head
        let payload = channel.allocator.buffer(bytes: body)
        channel.eventLoop.execute {
            channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(payload)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        do {
            let response = try await promise.futureResult.get()
            try? await channel.close().get()
            return response
        } catch _ where timedOut.isSet {
            throw .timeout
        } catch let error as HTTPPostError {
            throw error
        } catch let error as TLSError {
            throw .tls(error.description)
        } catch {
            throw .connectionFailed("\(error)")
        }
    }
}

public enum HTTPPostError: Error, Sendable, Equatable, CustomStringConvertible {
    case badURL(String)
    case connectionFailed(String)
    case tls(String)
    case timeout

    public var description: String {
        switch self {
        case .badURL(let url): "not an http:// or https:// URL: \(url)"
        case .connectionFailed(let message): "HTTP connection failed: \(message)"
        case .tls(let message): "HTTPS: \(message)"
        case .timeout: "the HTTP server did not answer in time"
        }
    }
}

/// Gathers the response's status and body; completes the promise at its end.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    let promise: EventLoopPromise<HTTPPostClient.Response>
    var status = 0
    var body = ""
    var finished = false

    init(promise: EventLoopPromise<HTTPPostClient.Response>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(var buffer): if body.utf8.count < 4096 { body += buffer.readString(length: buffer.readableBytes) ?? "" }
        case .end: finish(.success(HTTPPostClient.Response(status: status, body: body)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(.failure(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(HTTPPostError.connectionFailed("the server closed the connection before answering")))
        context.fireChannelInactive()
    }

    /// The first outcome wins; a promise is completed once.
    private func finish(_ result: Result<HTTPPostClient.Response, Error>) {
        guard !finished else { return }
        finished = true
        promise.completeWith(result)
    }
}
