import Foundation

/// A throwaway PostgreSQL server from Debian's `postgresql` package: `initdb` in a temporary
/// directory, listening on a Unix socket in that directory only (no TCP port at all), with
/// fsync off unless `durable`, and stopped by `stop()`. As root, the server runs as the package's `postgres`
/// user, which owns the directory. The server is this process's child (`pg_ctl start` would
/// detach it holding a descriptor of Foundation's `Process`, whose wait then never ends).
public final class PostgreSQLCluster: @unchecked Sendable {
    public static var binDirectory: String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root))?.compactMap(Int.init).sorted() ?? []
        return versions.last.map { "\(root)/\($0)/bin" }.flatMap { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") ? $0 : nil }
    }

    public static var isInstalled: Bool { binDirectory != nil }

    /// The socket's directory, which is also the data directory's parent.
    public let socketDirectory: String
    public let user = "postgres"
    private let data: String
    private let bin: String
    private let scratch: TemporaryDirectory
    private let server = Process()

    /// - Parameter durable: fsync on, as a production server runs (the benchmarks); tests run
    ///   with it off.
    public init(durable: Bool = false) throws {
        guard let bin = Self.binDirectory else { throw ClusterError(description: "PostgreSQL is not installed (Debian: postgresql)") }
        self.bin = bin
        scratch = try TemporaryDirectory(prefix: "pg")
        socketDirectory = scratch.path
        data = scratch.file("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        if geteuid() == 0 {
            // initdb refuses to run as root; the package's user owns the cluster.
            _ = try Command.run("/usr/bin/chown", ["-R", "postgres:postgres", scratch.path])
            _ = try Command.run("/usr/bin/chmod", ["0755", scratch.path])
        }
        try asOwner("initdb", ["-D", data, "-U", user, "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"])
        let owner = geteuid() == 0 ? ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"] : []
        let command =
            owner + [bin + "/postgres", "-D", data, "-c", "listen_addresses=", "-k", socketDirectory] + (durable ? [] : ["-c", "fsync=off"])
        server.executableURL = URL(fileURLWithPath: command[0])
        server.arguments = Array(command.dropFirst())
        _ = FileManager.default.createFile(atPath: scratch.file("server.log"), contents: nil)
        server.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch.file("server.log")))
        server.standardError = server.standardOutput
        server.standardInput = FileHandle.nullDevice
        try server.run()
        // Ready when it answers a query on its socket.
        let deadline = Date().addingTimeInterval(30)
        while (try? psql(database: "postgres", "SELECT 1")) == nil {
            guard server.isRunning, Date() < deadline else {
                stop()
                throw ClusterError(description: "postgres did not start: \(log)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Creates an empty database and returns its name.
    @discardableResult
    public func createDatabase(_ name: String) throws -> String {
        try asOwner("createdb", ["-h", socketDirectory, "-U", user, name])
        return name
    }

    /// Runs `sql` with psql; returns its output (unaligned, no headers).
    @discardableResult
    public func psql(database: String, _ sql: String) throws -> String {
        try asOwner("psql", ["-h", socketDirectory, "-U", user, "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    /// A fast shutdown (SIGINT: sessions end, nothing is waited for), then the files go.
    public func stop() {
        if server.isRunning {
            kill(server.processIdentifier, SIGINT)
            server.waitUntilExit()
        }
        scratch.remove()
    }

    /// The server's log, for a failing test's message.
    public var log: String { (try? String(contentsOfFile: scratch.file("server.log"), encoding: .utf8)) ?? "" }

    @discardableResult
    private func asOwner(_ program: String, _ arguments: [String]) throws -> String {
        let result =
            geteuid() == 0
            ? try Command.run("/usr/bin/setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", bin + "/" + program] + arguments)
            : try Command.run(bin + "/" + program, arguments)
        guard result.status == 0 else {
            throw ClusterError(description: "\(program) exited \(result.status): \(result.stderr)\(result.stdout.suffix(500))")
        }
        return result.stdout
    }

    public struct ClusterError: Error, CustomStringConvertible {
        public var description: String
    }
}
