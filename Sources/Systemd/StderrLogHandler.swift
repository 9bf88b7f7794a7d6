import FinetunedText
import FinetunedTime
import Foundation
import Logging

/// A readable one-line format for a terminal or a foreground run:
/// `2026-11-28T10:00:00.123Z info  drop accepted workflow_id=wf-1 profile=summaries`.
///
/// Secrets are left out exactly as in the journal handler.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let label: String

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = JournalFields.merged(metadata, provider: metadataProvider, event: event)
        let line = Self.format(date: Date(), level: event.level, message: event.message.description, metadata: merged)
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func format(date: Date, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = "\(timestamp(date)) \(level.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))\(OneLine.of(message))"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where !JournalFields.isSecret(key) && key != "message_id" {
            let rendered = JournalFields.render(value)
            let needsQuotes = rendered.isEmpty || rendered.contains { $0 == " " || $0 == "\"" || $0 == "\n" }
            line +=
                " \(key)="
                + (needsQuotes
                    ? "\"\(rendered.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\"" : rendered)
        }
        return line
    }

    static func timestamp(_ date: Date) -> String {
        UTCTime(date).iso8601Milliseconds
    }
}
