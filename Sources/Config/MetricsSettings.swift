import FinetunedText

/// `[metrics]`: where Prometheus's text format is served over HTTP. Without the table the
/// metrics are still there, through `finetunectl metrics`.
public struct MetricsSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// A non-loopback `listen` must be asked for in so many words: the endpoint is plain HTTP
    /// without authentication.
    public var allowRemote: Bool

    public init(host: String, port: Int, allowRemote: Bool = false) {
        self.host = host
        self.port = port
        self.allowRemote = allowRemote
    }

    /// `HOST:PORT`, `[IPV6]:PORT`; nil with the reason when it is neither.
    public static func parse(listen: String) -> Result<(host: String, port: Int), Failure> {
        let host: Substring, portText: Substring
        if listen.hasPrefix("[") {
            guard let close = listen.firstIndex(of: "]"), listen[listen.index(after: close)...].hasPrefix(":") else {
                return .failure(Failure(.configuration, "'\(listen)' is not [ADDRESS]:PORT"))
            }
            host = listen[listen.index(after: listen.startIndex)..<close]
            portText = listen[listen.index(close, offsetBy: 2)...]
        } else {
            guard let colon = listen.lastIndex(of: ":"), !listen[..<colon].contains(":") else {
                return .failure(Failure(.configuration, "'\(listen)' is not HOST:PORT (an IPv6 address goes in brackets: [::1]:9464)"))
            }
            host = listen[..<colon]
            portText = listen[listen.index(after: colon)...]
        }
        guard !host.isEmpty else { return .failure(Failure(.configuration, "'\(listen)' names no address")) }
        guard let port = Int(portText), (1...65_535).contains(port) else {
            return .failure(Failure(.configuration, "'\(portText)' is not a port from 1 to 65535"))
        }
        return .success((String(host), port))
    }

    /// 127.0.0.0/8, ::1 and `localhost`: reachable from this machine only.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
