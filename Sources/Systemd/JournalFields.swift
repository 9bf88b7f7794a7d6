import FinetunedText
import Logging

/// Turns swift-log records into journald fields.
///
/// Kept apart from the handler so the mapping (names, priorities, redaction) is testable
/// without a journald.
enum JournalFields {
    /// A record's metadata: the handler's own, then the provider's, then the call's, with the
    /// error (if any) as `error`; later sources win.
    static func merged(_ base: Logger.Metadata, provider: Logger.MetadataProvider?, event: LogEvent) -> Logger.Metadata {
        var merged = base
        if let provided = provider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        if let error = event.error { merged["error"] = "\(error)" }
        return merged
    }

    /// syslog priorities, as journald's `PRIORITY=` field expects them.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A journald field name: upper-case ASCII letters, digits and `_`, not starting with
    /// `_` (reserved for trusted fields) or a digit, at most 64 bytes. Returns nil when
    /// nothing usable is left.
    static func fieldName(forMetadataKey key: String) -> String? {
        var name = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32)!)
            case "A"..."Z", "0"..."9", "_": name.unicodeScalars.append(scalar)
            case "-", ".", " ": name.append("_")
            default: continue
            }
        }
        while name.first == "_" || name.first?.isNumber == true { name.removeFirst() }
        if name.isEmpty { return nil }
        return String(name.prefix(64))
    }

    /// Metadata keys whose values must never reach the journal, whoever logs them.
    static func isSecret(_ key: String) -> Bool {
        let lower = key.lowercased()
        return ["password", "secret", "token", "credential", "authorization", "access_key"]
            .contains { lower.contains($0) }
    }

    /// Metadata keys that map onto journald's own well-known fields.
    static let wellKnown: [String: String] = ["message_id": "MESSAGE_ID"]

    /// Fields the handler sets itself; metadata must not override them.
    static let reserved: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
        "LOGGER",
    ]

    static func render(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let items): "[" + items.map(render).joined(separator: ", ") + "]"
        case .dictionary(let dict):
            "{"
                + dict.sorted { $0.key < $1.key }.map { "\($0.key): \(render($0.value))" }
                .joined(separator: ", ") + "}"
        }
    }

    /// All fields for one record, in a stable order.
    static func fields(
        identifier: String, label: String, level: Logger.Level, message: String,
        metadata: Logger.Metadata, file: String, function: String, line: UInt
    ) -> [(String, String)] {
        var out: [(String, String)] = [
            // One entry, one line: a message carrying a service's error page or a name with a
            // line feed in it would otherwise read as several entries (or forge one) in
            // `journalctl`'s output. The fields below keep their values exactly.
            ("MESSAGE", OneLine.of(message)),
            ("PRIORITY", String(priority(level))),
            ("SYSLOG_IDENTIFIER", identifier),
            ("CODE_FILE", file),
            ("CODE_LINE", String(line)),
            ("CODE_FUNC", function),
            ("LOGGER", label),
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            guard !isSecret(key) else { continue }
            guard let name = wellKnown[key] ?? fieldName(forMetadataKey: key),
                !reserved.contains(name)
            else { continue }
            out.append((name, render(value)))
        }
        return out
    }
}
