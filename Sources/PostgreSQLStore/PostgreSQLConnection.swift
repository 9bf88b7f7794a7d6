import FinetunedConfig
import FinetunedText
import FinetunedWorkflow
import Foundation
import NIOSSL
import PostgresNIO

extension PostgreSQLWorkflowStore {
    /// The client's configuration for `[store]`: a Unix socket, or TCP with TLS as `sslmode`
    /// asks (verify-full checks the certificate and the host name against the system's CAs).
    public static func configuration(for settings: StoreSettings, password: String?) -> PostgresClient.Configuration {
        switch settings.server {
        case .socket:
            return .init(unixSocketPath: settings.server.socketPath!, username: settings.user, password: password, database: settings.database)
        case .tcp(let host, let port):
            var tls = TLSConfiguration.makeClientConfiguration()
            let mode: PostgresClient.Configuration.TLS
            switch settings.sslMode {
            case .disable: mode = .disable
            case .require:
                tls.certificateVerification = .none
                mode = .require(tls)
            case .verifyCA:
                tls.certificateVerification = .noHostnameVerification
                mode = .require(tls)
            case .verifyFull: mode = .require(tls)
            }
            return .init(host: host, port: port, username: settings.user, password: password, database: settings.database, tls: mode)
        }
    }

    /// The password: `password_file`, else the systemd credential `store-password`, else none
    /// (peer or trust authentication on a socket).
    public static func password(for settings: StoreSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> String?
    {
        if let file = settings.passwordFile { return try Secret.read(file, kind: .credentials, environment: environment) }
        guard let credentials = environment["CREDENTIALS_DIRECTORY"], FileManager.default.fileExists(atPath: credentials + "/store-password")
        else { return nil }
        return try Secret.read("store-password", kind: .credentials, environment: environment)
    }

    /// Holds a session lock on this node's id until the task is cancelled: two daemons with
    /// one node id would take each other's leases in turn and fence each other out, so the
    /// second is refused at start. `acquired` is told once: nil when the lock is held, or why not.
    public func holdNodeID(acquired: @escaping @Sendable (StoreError?) -> Void) async {
        let node = node
        do {
            try await client.withConnection { connection in
                let session = PostgreSQLSession(connection: connection, logger: logger, node: node)
                let rows = try await session.rows(
                    "SELECT pg_try_advisory_lock(\(Self.nodeLockClass), hashtext(\(node.rawValue))) AS held")
                guard try rows.first?.cell("held").decode(Bool.self) == true else {
                    acquired(
                        StoreError.database(
                            "another finetuned with node id '\(node)' is using this database; give each daemon its own [store] node_id"))
                    return
                }
                acquired(nil)
                // Held for as long as this connection lives: until the daemon stops.
                for await _ in AsyncStream<Never>.makeStream().stream {}
            }
        } catch {
            acquired(Self.storeError(error))
        }
    }

    /// The advisory lock class of node ids ("ftnd" in ASCII); the key is the id's hash.
    static let nodeLockClass: Int32 = 0x66_74_6E_64
}
