import ArgumentParser
import FinetunedControl
import FinetunedText
import Foundation

/// `finetunectl logs ID [-f] [-n N]`: a workflow's journal entries, with their stage and the
/// daemon's fields, read from the journal itself, so it works with the daemon stopped.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a workflow's journal entries (its stage and fields); -f follows new ones.",
        discussion:
            "Reads the journal through libsystemd, as journalctl WORKFLOW_ID=<id> would; journald decides who may read it (root, systemd-journal, adm)."
    )

    @Argument(help: "The workflow id.") var id: String
    @Option(name: [.customShort("n"), .customLong("lines")], help: "How many of the last entries to print.") var count = 50
    @Flag(name: .shortAndLong, help: "Keep printing new entries until interrupted.") var follow = false
    @Option(help: ArgumentHelp("Read the journal files in this folder instead of this machine's journal.", valueName: "folder"))
    var directory: String?
    @Flag(name: .long, help: "One JSON object of fields per entry, for machines.") var json = false

    func validate() throws {
        guard (0...100_000).contains(count) else { throw ValidationError("-n must be from 0 to 100000, not \(count)") }
        guard !id.isEmpty, id.utf8.count <= 200, !id.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw ValidationError("'\(OneLine.of(id, limit: 80))' is not a workflow id")
        }
    }

    func run() throws {
        let journal: WorkflowJournal
        do { journal = try WorkflowJournal(workflowID: id, directory: directory) } catch {
            FileHandle.standardError.write(Data("finetunectl: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let entries = journal.last(count)
        for entry in entries { try emit(entry) }
        if entries.isEmpty && !follow {
            let hint = getuid() == 0 ? "" : " (or this user may not read the journal: see journalctl's groups, systemd-journal and adm)"
            FileHandle.standardError.write(Data("finetunectl: no journal entries for \(OneLine.of(id, limit: 80))\(hint)\n".utf8))
            throw ExitCode(1)
        }
        guard follow else { return }
        while true {
            journal.wait(timeout: .seconds(3600))
            while let entry = journal.next() { try emit(entry) }
        }
    }

    /// Written straight to standard output, unbuffered, so `-f` into a pipe shows each entry
    /// as it comes.
    private func emit(_ entry: WorkflowJournal.Entry) throws {
        let line =
            json
            ? String(
                decoding: try JSONSerialization.data(withJSONObject: entry.fields, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
            : entry.line
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
