import CSystemd
import Foundation
import Logging

/// A swift-log handler that writes structured entries to journald with `sd_journal_sendv`.
///
/// Metadata becomes upper-case fields (`workflow_id` → `WORKFLOW_ID`), so
/// `journalctl -u finetuned WORKFLOW_ID=…` filters on them. `sd_journal_send` is variadic
/// and cannot be called from Swift; `sd_journal_sendv` takes the same fields as iovecs and
/// handles multi-line values itself.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let identifier: String

    public init(label: String, identifier: String = "finetuned") {
        self.label = label
        self.identifier = identifier
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = JournalFields.merged(metadata, provider: metadataProvider, event: event)
        let fields = JournalFields.fields(
            identifier: identifier, label: label, level: event.level,
            message: event.message.description, metadata: merged,
            file: event.file, function: event.function, line: event.line)
        Self.send(fields)
    }

    /// Sends one entry; returns the `sd_journal_sendv` result (0 also when no journald runs).
    @discardableResult
    static func send(_ fields: [(String, String)]) -> Int32 {
        // "NAME=" is never empty, so every buffer has at least two bytes.
        let buffers = fields.map { name, value -> UnsafeMutableRawBufferPointer in
            let bytes = Array("\(name)=\(value)".utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
            buffer.copyBytes(from: bytes)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        let vectors = buffers.map { iovec(iov_base: $0.baseAddress, iov_len: $0.count) }
        return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
    }
}
