import FinetunedText

/// `[store]`: the workflows in a PostgreSQL database instead of the state directory's SQLite
/// file. The URL names the user, the server (a host and port, or the directory of its Unix
/// socket) and the database; the password is never in the configuration: it is read from
/// `password_file`, or from the systemd credential `store-password` (`LoadCredential=`).
public struct StoreSettings: Sendable, Equatable {
    public enum Server: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// The directory holding `.s.PGSQL.<port>`.
        case socket(directory: String, port: Int)

        public var socketPath: String? {
            if case .socket(let directory, let port) = self { return directory + "/.s.PGSQL.\(port)" }
            return nil
        }
    }

    /// libpq's names; `prefer` and `allow` are not offered: they fall back to plain text.
    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        case disable, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var url: String
    public var user: String
    public var server: Server
    public var database: String
    public var sslMode: SSLMode
    public var passwordFile: String?
    /// This daemon's name among those sharing the database; nil: the machine id.
    public var nodeID: String?
    /// How long a node's hold on a workflow lasts unless renewed (at a third of it): how long
    /// a dead node's workflows wait before another node takes them over.
    public var lease: Duration = .seconds(30)

    /// `postgresql://USER@HOST[:PORT]/DATABASE[?sslmode=MODE]`, or
    /// `postgresql://USER@/DATABASE?host=/run/postgresql` for a Unix socket (as libpq reads it).
    public static func parse(url: String) -> Result<StoreSettings, Failure> {
        func refuse(_ why: String) -> Result<StoreSettings, Failure> { .failure(Failure(.configuration, why)) }
        let schemes = ["postgresql://", "postgres://"]
        guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else { return refuse("'url' must start with postgresql://") }
        var rest = Substring(url.dropFirst(scheme.count))
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[1].isEmpty else { return refuse("'url': '\(pair)' is not NAME=VALUE") }
                query[parts[0]] = Self.percentDecoded(parts[1])
            }
            rest = rest[..<mark]
        }
        guard let at = rest.firstIndex(of: "@") else { return refuse("'url' names no user: postgresql://USER@HOST/DATABASE") }
        let userInfo = rest[..<at]
        if userInfo.contains(":") {
            return refuse(
                "'url' carries a password: put it in password_file (mode 0600) or a systemd credential named store-password, never in the configuration"
            )
        }
        guard !userInfo.isEmpty else { return refuse("'url' names no user: postgresql://USER@HOST/DATABASE") }
        rest = rest[rest.index(after: at)...]
        guard let slash = rest.firstIndex(of: "/") else { return refuse("'url' names no database: postgresql://USER@HOST/DATABASE") }
        let hostPort = rest[..<slash]
        let database = String(rest[rest.index(after: slash)...])
        guard !database.isEmpty, !database.contains("/") else { return refuse("'url' names no database: postgresql://USER@HOST/DATABASE") }
        var host = String(hostPort), port = 5432
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(number) else {
                return refuse("'url': the port in '\(hostPort)' is not 1…65535")
            }
            host = String(hostPort[..<colon])
            port = number
        }
        if let socket = query.removeValue(forKey: "host") {
            guard socket.hasPrefix("/"), host.isEmpty else {
                return refuse("'url': host=\(socket) must be the absolute directory of the server's socket, with no host before the /")
            }
            host = socket
        }
        guard !host.isEmpty else { return refuse("'url' names no server: a host, or ?host=/directory/of/the/socket") }
        var sslMode = SSLMode.verifyFull
        if let mode = query.removeValue(forKey: "sslmode") {
            guard let known = SSLMode(rawValue: mode) else {
                return refuse("'url': sslmode=\(mode) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = known
        }
        if let other = query.keys.sorted().first { return refuse("'url': unknown parameter '\(other)' (known: host, sslmode)") }
        let server: Server =
            host.hasPrefix("/") ? .socket(directory: host, port: port) : .tcp(host: host.trimmingCharacters(in: ["[", "]"]), port: port)
        if case .socket = server {
            sslMode = .disable
        }  // a Unix socket is this machine's own
        else if sslMode == .disable, !["localhost", "127.0.0.1", "::1", "[::1]"].contains(host) {
            return refuse("'url': sslmode=disable to \(host) would send the password and every workflow in clear; use verify-full")
        }
        return .success(
            StoreSettings(
                url: url, user: Self.percentDecoded(String(userInfo)), server: server, database: Self.percentDecoded(database), sslMode: sslMode,
                passwordFile: nil))
    }

    static func percentDecoded(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A node id reads plainly in journals and tables: letters, digits, `.`, `_`, `-`, up to 64.
    public static func isValidNodeID(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0))
            }
    }
}
