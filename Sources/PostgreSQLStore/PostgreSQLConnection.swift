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
        var file = settings.passwordFile
        if file == nil, let credentials = environment["CREDENTIALS_DIRECTORY"],
            FileManager.default.fileExists(atPath: credentials + "/store-password")
        {
            file = credentials + "/store-password"
        }
        guard let file else { return nil }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw Failure(.credentials, "cannot read the store's password from \(file)")
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }

    /// Holds a session lock that says this daemon alone drives the workflows in this database,
    /// until the task is cancelled. Two daemons on one database without leases could both
    /// drive a workflow and pay twice, so the second is refused until fail-over exists.
    /// `acquired` is told once: nil when the lock is held, or why not.
    public func holdSoleUse(acquired: @escaping @Sendable (StoreError?) -> Void) async {
        do {
            try await client.withConnection { connection in
                let session = PostgreSQLSession(connection: connection, logger: logger)
                let rows = try await session.rows("SELECT pg_try_advisory_lock(\(Self.soleUseLock)) AS held")
                guard try rows.first?.cell("held").decode(Bool.self) == true else {
                    acquired(
                        StoreError.database(
                            "another finetuned already drives the workflows in this database; until fail-over with leases exists, one daemon per database"
                        ))
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

    /// The advisory lock key of the daemon's sole use ("ftsole" in ASCII).
    static let soleUseLock: Int64 = 0x66_74_73_6F_6C_65
}
