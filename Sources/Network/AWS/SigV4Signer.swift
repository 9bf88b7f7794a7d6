import Crypto
import FinetunedText
import FinetunedTime
import Foundation

/// AWS credentials as a signer needs them. `description` never shows the secret.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String { "AWSCredentials(\(accessKeyID), secret redacted\(sessionToken == nil ? "" : ", session token redacted"))" }
}

/// An HTTP request as it will go on the wire: the path as sent (already percent-encoded
/// where the API wants it, e.g. an ARN's `:` as `%3A`), the raw query, headers in order.
public struct SigV4Request: Sendable, Equatable {
    public var method: String
    public var path: String
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", headers: [(name: String, value: String)], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    public static func == (a: SigV4Request, b: SigV4Request) -> Bool {
        a.method == b.method && a.path == b.path && a.query == b.query && a.body == b.body
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }
}

/// Signature Version 4 (the AWS "sigv4" algorithm): canonical request, string to sign,
/// derived key, `Authorization` header or presigned query.
///
/// Every service but S3 normalises the path and encodes it a second time in the canonical
/// request (a Bedrock ARN's `%3A` becomes `%253A`); S3 does neither.
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String
    /// false for S3.
    public var normalizePath: Bool
    /// false for S3: the path is taken as already encoded.
    public var encodePathAgain: Bool

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
        normalizePath = service != "s3"
        encodePathAgain = service != "s3"
    }

    public struct Signed: Sendable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
        /// Headers to add to the request (X-Amz-Date, the token, Authorization) in order.
        public var headers: [(name: String, value: String)]
        /// For a presigned request: the query to send instead of the original one.
        public var query: String
    }

    static func timestamps(_ date: Date) -> (amz: String, day: String) {
        let time = UTCTime(date)
        return (time.compactTimestamp, time.compactDate)
    }

    /// Signs with an `Authorization` header.
    /// - Parameters:
    ///   - signPayloadHeader: add `x-amz-content-sha256` (S3 needs it) and sign it.
    ///   - signSessionToken: false for the services that want the token added unsigned.
    public func sign(_ request: SigV4Request, date: Date, signPayloadHeader: Bool = false, signSessionToken: Bool = true) -> Signed {
        let (amz, day) = Self.timestamps(date)
        let payload = SHA256.hash(data: request.body).hex
        var added: [(name: String, value: String)] = []
        if signPayloadHeader { added.append(("X-Amz-Content-Sha256", payload)) }
        added.append(("X-Amz-Date", amz))
        let token = credentials.sessionToken.map { (name: "X-Amz-Security-Token", value: $0) }
        // The token is signed unless the service wants it added afterwards.
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers + added + (signSessionToken ? token.map { [$0] } ?? [] : []))
        let canonical = [
            request.method, canonicalURI(request.path), Self.canonicalQuery(request.query),
            canonicalHeaders, signedHeaders, payload,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", amz, scope, SHA256.hash(data: Array(canonical.utf8)).hex].joined(separator: "\n")
        let signature = Self.hmac(key: signingKey(day: day), data: Array(toSign.utf8)).hex
        if let token { added.append(token) }
        added.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
            ))
        return Signed(canonicalRequest: canonical, stringToSign: toSign, signature: signature, headers: added, query: request.query)
    }

    /// A presigned URL's query: the signing parameters plus `X-Amz-Signature`, valid for
    /// `expires` seconds. The request's own headers (Host at least) are signed.
    public func presign(_ request: SigV4Request, date: Date, expires: Int, signSessionToken: Bool = true) -> Signed {
        let (amz, day) = Self.timestamps(date)
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        var parameters = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
            ("X-Amz-Date", amz), ("X-Amz-Expires", String(expires)), ("X-Amz-SignedHeaders", signedHeaders),
        ]
        if signSessionToken, let token = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", token)) }
        let added = parameters.map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&")
        let query = request.query.isEmpty ? added : request.query + "&" + added
        let payload = SHA256.hash(data: request.body).hex
        let canonical = [request.method, canonicalURI(request.path), Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payload]
            .joined(separator: "\n")
        let toSign = ["AWS4-HMAC-SHA256", amz, scope, SHA256.hash(data: Array(canonical.utf8)).hex].joined(separator: "\n")
        let signature = Self.hmac(key: signingKey(day: day), data: Array(toSign.utf8)).hex
        var final = query + "&X-Amz-Signature=" + signature
        if !signSessionToken, let token = credentials.sessionToken { final += "&X-Amz-Security-Token=" + Self.encode(token) }
        return Signed(canonicalRequest: canonical, stringToSign: toSign, signature: signature, headers: [], query: final)
    }

    func signingKey(day: String) -> [UInt8] {
        var key = Self.hmac(key: Array(("AWS4" + credentials.secretAccessKey).utf8), data: Array(day.utf8))
        for part in [region, service, "aws4_request"] { key = Self.hmac(key: key, data: Array(part.utf8)) }
        return key
    }

    func canonicalURI(_ path: String) -> String {
        var path = path.isEmpty ? "/" : path
        if normalizePath { path = Self.normalized(path) }
        guard encodePathAgain else { return path }
        return path.split(separator: "/", omittingEmptySubsequences: false).map { Self.encode(String($0)) }.joined(separator: "/")
    }

    /// RFC 3986 dot-segment removal, and repeated slashes collapsed.
    static func normalized(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        for segment in segments {
            if segment == "." { continue }
            if segment == ".." {
                if !output.isEmpty { output.removeLast() }
                continue
            }
            output.append(segment)
        }
        var result = "/" + output.joined(separator: "/")
        let last = segments.last
        if path.hasSuffix("/") || last == "." || last == "..", result != "/" { result += "/" }
        return result
    }

    /// Each name and value decoded, then encoded the SigV4 way, sorted by name then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]), value = parts.count > 1 ? String(parts[1]) : ""
            return (encode(name.removingPercentEncoding ?? name), encode(value.removingPercentEncoding ?? value))
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Lower-case names, sorted; values trimmed with inner runs of spaces collapsed; repeated
    /// names joined with commas in their order.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
            values[name.lowercased(), default: []].append(trimmed)
        }
        let names = values.keys.sorted()
        return (names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined(), names.joined(separator: ";"))
    }

    /// Percent-encodes everything but the unreserved characters `A–Z a–z 0–9 - _ . ~`, as
    /// upper-case hex over UTF-8.
    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

extension SigV4Signer {
    /// HMAC-SHA256, as SigV4 chains it (swift-crypto).
    static func hmac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
    }
}
