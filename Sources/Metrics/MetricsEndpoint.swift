import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// `GET /metrics` over HTTP, for a Prometheus server to scrape (`[metrics] listen`).
///
/// Plain HTTP on a loopback address unless the configuration says `allow_remote = true`:
/// the numbers name profiles, models and backends, and a reverse proxy with TLS and
/// authentication is the way to publish them further. Anything but `GET`/`HEAD /metrics` is
/// answered 404 or 405; a request with a body is refused.
public struct MetricsEndpoint: Service, CustomStringConvertible {
    public var description: String { "metrics-endpoint" }

    let host: String
    let port: Int
    let scrape: @Sendable () async -> [UInt8]
    let logger: Logger

    public init(host: String, port: Int, logger: Logger, scrape: @escaping @Sendable () async -> [UInt8]) {
        self.host = host
        self.port = port
        self.logger = logger
        self.scrape = scrape
    }

    public func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        logger.info("metrics served over HTTP", metadata: ["address": "http://\(host):\(server.channel.localAddress?.port ?? port)/metrics"])
        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { tasks in
                    for try await connection in connections {
                        tasks.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    /// One connection, kept alive for as many requests as the scraper sends.
    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var hasBody = false
                for try await part in inbound {
                    switch part {
                    case .head(let received):
                        head = received
                        hasBody = false
                    case .body:
                        hasBody = true
                    case .end:
                        guard let request = head else { continue }
                        let (status, body) = await answer(request, hasBody: hasBody)
                        var headers = HTTPHeaders()
                        headers.add(
                            name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
                        headers.add(name: "Content-Length", value: String(body.count))
                        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
                        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
                        try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                        if request.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                        try await outbound.write(.end(nil))
                        if !request.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("metrics connection ended: \(error)")
        }
    }

    private func answer(_ request: HTTPRequestHead, hasBody: Bool) async -> (HTTPResponseStatus, [UInt8]) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        guard path == "/metrics" else { return (.notFound, Array("not found: the metrics are at /metrics\n".utf8)) }
        guard request.method == .GET || request.method == .HEAD else { return (.methodNotAllowed, Array("only GET and HEAD\n".utf8)) }
        guard !hasBody else { return (.badRequest, Array("a scrape has no body\n".utf8)) }
        return (.ok, await scrape())
    }
}
