import Foundation

/// A fresh directory under /tmp, removed by `remove()`. Paths stay short because Unix socket
/// paths are limited to 107 bytes.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "ft") throws {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        path = String(cString: result)
    }

    private init(existing path: String) { self.path = path }

    /// The same directory, for a second component (a restarted engine) working on its files.
    public func reopen() -> TemporaryDirectory { TemporaryDirectory(existing: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
