import Foundation

/// A request as the caller means it: `url` already percent-encoded where the API wants it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header of that name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Scheme, host, port and the request target, split once from a URL.
public struct HTTPTarget: Sendable, Equatable {
    public var secure: Bool
    public var host: String
    public var port: Int
    public var pathAndQuery: String
    /// `Host:` as the server expects it: the port only when it is not the scheme's default.
    public var hostHeader: String

    public init(_ url: String) throws(HTTPTransportError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw .badURL(url)
        }
        secure = scheme == "https"
        self.host = host
        port = components.port ?? (secure ? 443 : 80)
        pathAndQuery =
            (components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath)
            + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
        hostHeader = components.port.map { "\(host):\($0)" } ?? host
    }
}
