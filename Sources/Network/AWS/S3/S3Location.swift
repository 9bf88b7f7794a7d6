/// A bucket and key, read from or written as `s3://bucket/key`.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public var bucket: String
    public var key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }

    public init?(uri: String) {
        guard uri.hasPrefix("s3://") else { return nil }
        let rest = uri.dropFirst(5)
        guard let slash = rest.firstIndex(of: "/") else {
            guard !rest.isEmpty else { return nil }
            self.init(bucket: String(rest), key: "")
            return
        }
        guard slash != rest.startIndex else { return nil }
        self.init(bucket: String(rest[..<slash]), key: String(rest[rest.index(after: slash)...]))
    }

    public var uri: String { "s3://\(bucket)/\(key)" }
    public var description: String { uri }

    /// The key joined to more path segments with single slashes.
    public func appending(_ parts: String...) -> S3Location {
        var segments = key.split(separator: "/").map(String.init)
        for part in parts { segments += part.split(separator: "/").map(String.init) }
        return S3Location(bucket: bucket, key: segments.joined(separator: "/"))
    }
}
