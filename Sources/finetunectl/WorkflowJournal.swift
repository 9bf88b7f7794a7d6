import CSystemdJournal
import FinetunedText
import Foundation

/// A workflow's entries in the journal, read through libsystemd's `sd_journal` API: every
/// entry the daemon logged with `WORKFLOW_ID=<id>`, from this machine's journal or from a
/// folder of journal files (`--directory`: a copied journal, a container's).
///
/// It does not ask the daemon: the journal is what an operator reads after the daemon has
/// died. Who may read it is journald's business (root, `systemd-journal`, `adm`).
final class WorkflowJournal {
    struct Entry: Equatable {
        var time: Date
        var fields: [String: String]

        var message: String { fields["MESSAGE"] ?? "" }
        var stage: String? { fields["STAGE"] }

        /// The daemon's own fields: upper-case metadata it added (`PROFILE`, `DROP_FILE`, …),
        /// without journald's (`_PID`, …), the ones every entry has, and the two shown apart.
        var extraFields: [(String, String)] {
            let common: Set<String> = [
                "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "WORKFLOW_ID",
                "STAGE", "MESSAGE_ID", "LOGGER", "SYSLOG_FACILITY", "SYSLOG_PID", "SYSLOG_TIMESTAMP", "INVOCATION_ID",
            ]
            return fields.filter { !$0.key.hasPrefix("_") && !common.contains($0.key) }.sorted { $0.key < $1.key }
        }

        /// One line: time, stage, message, then the daemon's fields. Every value is made one
        /// line of plain text: a field may hold a submitter's file name, and a terminal must
        /// not be handed its control characters.
        var line: String {
            let extra = extraFields.map { "\($0.0)=\(OneLine.of($0.1))" }.joined(separator: " ")
            let stage = OneLine.of(stage ?? "-").padding(toLength: 18, withPad: " ", startingAt: 0)
            return "\(time.formatted(.iso8601))  \(stage)  \(OneLine.of(message))" + (extra.isEmpty ? "" : "  [\(extra)]")
        }
    }

    private var journal: OpaquePointer?

    /// - Parameter directory: journal files to read instead of this machine's journal.
    init(workflowID: String, directory: String? = nil) throws(Failure) {
        var opened: OpaquePointer?
        let status = directory.map { sd_journal_open_directory(&opened, $0, 0) } ?? sd_journal_open(&opened, Int32(SD_JOURNAL_LOCAL_ONLY))
        guard status >= 0, let opened else {
            throw Failure(.journal, "cannot open the journal\(directory.map { " in \($0)" } ?? ""): \(String(cString: strerror(-status)))")
        }
        journal = opened
        let match = Array("WORKFLOW_ID=\(workflowID)".utf8)
        let added = match.withUnsafeBytes { sd_journal_add_match(opened, $0.baseAddress, $0.count) }
        guard added >= 0 else { throw Failure(.journal, "cannot search the journal: \(String(cString: strerror(-added)))") }
    }

    deinit { sd_journal_close(journal) }

    /// The last `count` entries, oldest first; the reading position is left after them, so
    /// `wait()` and `next()` continue from there.
    func last(_ count: Int) -> [Entry] {
        guard count > 0 else {
            sd_journal_seek_tail(journal)
            sd_journal_previous(journal)
            return []
        }
        sd_journal_seek_tail(journal)
        // One step back lands on the last entry; the rest of the way is count - 1 more.
        guard sd_journal_previous(journal) > 0 else { return [] }
        if count > 1 { sd_journal_previous_skip(journal, UInt64(count - 1)) }
        var entries: [Entry] = []
        if let first = current() { entries.append(first) }
        while let entry = next() { entries.append(entry) }
        return entries
    }

    /// The entry after the reading position, if the journal has one yet.
    func next() -> Entry? {
        guard sd_journal_next(journal) > 0 else { return nil }
        return current()
    }

    /// Blocks until the journal changes (or `timeout` passes).
    func wait(timeout: Duration) {
        let microseconds = UInt64(timeout.components.seconds) * 1_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000_000)
        _ = sd_journal_wait(journal, microseconds)
    }

    private func current() -> Entry? {
        var usec: UInt64 = 0
        guard sd_journal_get_realtime_usec(journal, &usec) >= 0 else { return nil }
        var fields: [String: String] = [:]
        var data: UnsafeRawPointer?
        var length = 0
        sd_journal_restart_data(journal)
        while sd_journal_enumerate_available_data(journal, &data, &length) > 0 {
            guard let data else { continue }
            let field = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
            guard let equals = field.firstIndex(of: "=") else { continue }
            fields[String(field[..<equals])] = String(field[field.index(after: equals)...])
        }
        return Entry(time: Date(timeIntervalSince1970: Double(usec) / 1_000_000), fields: fields)
    }
}
