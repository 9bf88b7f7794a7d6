import Logging

/// A swift-log handler that writes structured entries to journald, in its native protocol
/// (`JournalSocket`).
///
/// Metadata becomes upper-case fields (`workflow_id` → `WORKFLOW_ID`), so
/// `journalctl -u finetuned WORKFLOW_ID=…` filters on them.
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

    /// A log line has nowhere better to report its own failure: the outcome is for tests.
    @discardableResult
    static func send(_ fields: [(String, String)]) -> JournalSocket.Outcome {
        JournalSocket.shared.send(fields)
    }
}
