import AsyncHTTPClient
import FinetunedText
import NIOCore
import NIOPosix
import Synchronization

/// The process's async-http-client instances: one per trust store, each with its own
/// connection pool, made on first use and kept for the process's life (a client that is
/// never released never needs the shutdown the library otherwise asks for).
///
/// Every one verifies the server's certificate and its name, speaks TLS 1.2 or newer, and
/// follows no redirect; none of that is configurable. An idle connection is closed after
/// `idleTimeout`, after which an idle daemon holds no connection and no timer.
enum HTTPPools {
    static let idleTimeout: TimeAmount = .seconds(30)
    private static let clients = Mutex<[String: AsyncHTTPClient.HTTPClient]>([:])

    static func client(trusting caFile: String?) throws(Failure) -> AsyncHTTPClient.HTTPClient {
        try clients.withLock { (clients: inout [String: AsyncHTTPClient.HTTPClient]) throws(Failure) -> AsyncHTTPClient.HTTPClient in
            let key = caFile ?? ""
            if let client = clients[key] { return client }
            // A failure is not kept, so a CA file fixed later is picked up by the next request.
            let tls = try ClientTLS.configuration(caFile: caFile)
            var configuration = AsyncHTTPClient.HTTPClient.Configuration(
                tlsConfiguration: tls, redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10)),
                connectionPool: .init(idleTimeout: idleTimeout), decompression: .disabled)
            configuration.httpVersion = .automatic
            let client = AsyncHTTPClient.HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
            clients[key] = client
            return client
        }
    }
}
