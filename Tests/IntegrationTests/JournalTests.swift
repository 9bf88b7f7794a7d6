import FinetunedTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import FinetunedSystemd

@Suite("journald field mapping")
struct JournalFieldTests {
    @Test("swift-log levels map to syslog priorities")
    func priorities() {
        #expect(Logger.Level.allCases.map(JournalFields.priority) == [7, 7, 6, 5, 4, 3, 2])
    }

    @Test("metadata keys become journald field names")
    func fieldNames() {
        #expect(JournalFields.fieldName(forMetadataKey: "workflow_id") == "WORKFLOW_ID")
        #expect(JournalFields.fieldName(forMetadataKey: "drop-file") == "DROP_FILE")
        #expect(JournalFields.fieldName(forMetadataKey: "_private") == "PRIVATE")
        #expect(JournalFields.fieldName(forMetadataKey: "2fa") == "FA")
        #expect(JournalFields.fieldName(forMetadataKey: "ünï") == "N")
        #expect(JournalFields.fieldName(forMetadataKey: "!!!") == nil)
        #expect(JournalFields.fieldName(forMetadataKey: String(repeating: "a", count: 80))?.count == 64)
    }

    @Test("secrets are dropped, handler fields cannot be overridden, message_id maps to MESSAGE_ID")
    func fields() {
        let fields = JournalFields.fields(
            identifier: "finetuned", label: "l", level: .error, message: "m",
            metadata: [
                "smtp_password": "hunter2", "aws_session_token": "t", "priority": "0",
                "message": "spoof", "message_id": "abc", "stage": "training",
                "tags": ["a", "b"], "counts": ["n": "1"],
            ],
            file: "f.swift", function: "g()", line: 7)
        let map = Dictionary(fields, uniquingKeysWith: { first, _ in first })
        #expect(map["MESSAGE"] == "m")
        #expect(map["PRIORITY"] == "3")
        #expect(map["MESSAGE_ID"] == "abc")
        #expect(map["STAGE"] == "training")
        #expect(map["TAGS"] == "[a, b]")
        #expect(map["COUNTS"] == "{n: 1}")
        #expect(map["SMTP_PASSWORD"] == nil)
        #expect(map["AWS_SESSION_TOKEN"] == nil)
        #expect(fields.filter { $0.0 == "PRIORITY" || $0.0 == "MESSAGE" }.count == 2)
        #expect(!fields.contains { $0.1.contains("hunter2") })
    }

    @Test("the stderr format is one readable line with quoted values and no secrets")
    func stderrFormat() {
        let line = StderrLogHandler.format(
            date: Date(timeIntervalSince1970: 0), level: .notice, message: "drop accepted",
            metadata: ["workflow_id": "wf-1", "drop_file": "q3 final.jsonl", "api_token": "x", "note": "a\nb"])
        #expect(line == #"1970-01-01T00:00:00.000Z notice  drop accepted drop_file="q3 final.jsonl" note="a\nb" workflow_id=wf-1"#)
    }

    @Test("entries are written in journald's native protocol: NAME=value, or a length-prefixed value when it has a newline")
    func nativeProtocol() {
        let bytes = JournalEntry.serialize([("MESSAGE", "two\nlines"), ("PRIORITY", "6"), ("EMPTY", "")])
        var expected = Array("MESSAGE\n".utf8) + [9, 0, 0, 0, 0, 0, 0, 0] + Array("two\nlines\n".utf8)
        expected += Array("PRIORITY=6\nEMPTY=\n".utf8)
        #expect(bytes == expected)
    }

    @Test("the watchdog interval is WATCHDOG_USEC, unless WATCHDOG_PID names another process")
    func watchdogEnvironment() {
        let notifier = ServiceNotifier()
        #expect(notifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"]) == .seconds(30))
        #expect(notifier.watchdogInterval(environment: ["WATCHDOG_USEC": "400000", "WATCHDOG_PID": "\(getpid())"]) == .milliseconds(400))
        #expect(notifier.watchdogInterval(environment: ["WATCHDOG_USEC": "400000", "WATCHDOG_PID": "\(getpid() + 1)"]) == nil)
        #expect(notifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"]) == nil)
        #expect(notifier.watchdogInterval(environment: ["WATCHDOG_USEC": "soon"]) == nil)
        #expect(notifier.watchdogInterval(environment: [:]) == nil)
    }

    @Test("notifications reach a socket in the abstract namespace (@name) as well as one with a path")
    func notifySocketNames() async throws {
        let directory = try TemporaryDirectory()
        for name in ["@finetuned-test-\(UUID().uuidString)", directory.file("notify.sock")] {
            let listener = try NotifySocketListener(path: name)
            defer { listener.shutdown() }
            #expect(ServiceNotifier.send(["READY=1", "STATUS=idle, 0 workflows"], toSocketNamed: name))
            let message = await listener.next(timeout: .seconds(5))
            #expect(message?.assignments == ["READY": "1", "STATUS": "idle, 0 workflows"])
        }
        #expect(!ServiceNotifier.send(["READY=1"], toSocketNamed: "vsock:2:1234"))
        #expect(!ServiceNotifier.send(["READY=1"], toSocketNamed: directory.file("nobody-listens.sock")))
    }

    @Test("message ids are distinct 128-bit hex ids")
    func messageIDs() {
        let ids = LogMessageID.allCases.map(\.rawValue)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 32 && $0.allSatisfy(\.isHexDigit) })
    }

    @Test("JOURNAL_STREAM selects the journal only when it names our stderr")
    func journalStreamDetection() {
        var st = stat()
        fstat(STDERR_FILENO, &st)
        let mine = "\(st.st_dev):\(st.st_ino)"
        #expect(LogDestination.automatic.resolved(environment: ["JOURNAL_STREAM": mine]) == .journal)
        #expect(LogDestination.automatic.resolved(environment: ["JOURNAL_STREAM": "1:2"]) == .stderr)
        #expect(LogDestination.automatic.resolved(environment: ["JOURNAL_STREAM": "garbage"]) == .stderr)
        #expect(LogDestination.automatic.resolved(environment: [:]) == .stderr)
        #expect(LogDestination.journal.resolved(environment: [:]) == .journal)
    }
}

/// Entries read back with `journalctl -o json` from a journald the test starts by hand.
@Suite("journald, for real", .serialized)
struct JournaldTests {
    @Test("the handler's entries carry message, priority, code location, metadata fields and MESSAGE_ID")
    func handlerEntriesReadBack() async throws {
        let journald = try JournaldHarness()
        defer { journald.stop() }
        let identifier = "finetuned-test-\(UUID().uuidString.prefix(8))"
        var logger = Logger(label: "test") { JournalLogHandler(label: $0, identifier: identifier) }
        logger.logLevel = .debug
        let line = #line + 1
        logger.warning(
            "drop rejected\nsecond line",
            metadata: [
                LogMessageID.dropRejected.metadata.key: "\(LogMessageID.dropRejected.rawValue)",
                "workflow_id": "wf-42", "profile": "summaries", "stage": "validation",
                "drop_file": "q3.jsonl", "smtp_password": "hunter2",
            ])

        let entries = try await journald.waitForEntries(matching: ["SYSLOG_IDENTIFIER=\(identifier)"])
        let entry = try #require(entries.first)
        #expect(entry["MESSAGE"] as? String == "drop rejected second line", "one entry, one line")
        #expect(entry["PRIORITY"] as? String == "4")
        #expect(entry["MESSAGE_ID"] as? String == LogMessageID.dropRejected.rawValue)
        #expect(entry["WORKFLOW_ID"] as? String == "wf-42")
        #expect(entry["PROFILE"] as? String == "summaries")
        #expect(entry["STAGE"] as? String == "validation")
        #expect(entry["DROP_FILE"] as? String == "q3.jsonl")
        #expect((entry["CODE_FILE"] as? String)?.hasSuffix("JournalTests.swift") == true)
        #expect(entry["CODE_LINE"] as? String == String(line))
        #expect(entry["CODE_FUNC"] as? String == "handlerEntriesReadBack()")
        #expect(entry["SMTP_PASSWORD"] == nil)
        #expect(!entries.description.contains("hunter2"))

        // Filtering by a structured field works the way the README promises.
        let byWorkflow = try journald.entries(matching: ["SYSLOG_IDENTIFIER=\(identifier)", "WORKFLOW_ID=wf-42"])
        #expect(byWorkflow.count == 1)
        #expect(try journald.entries(matching: ["SYSLOG_IDENTIFIER=\(identifier)", "WORKFLOW_ID=wf-43"]).isEmpty)
    }

    @Test("a message holding a service's error page is one line in the journal; its fields keep their values")
    func multiLineMessage() async throws {
        let journald = try JournaldHarness()
        defer { journald.stop() }
        let identifier = "finetuned-test-\(UUID().uuidString.prefix(8))"
        let logger = Logger(label: "test") { JournalLogHandler(label: $0, identifier: identifier) }
        logger.error("GetFoundationModel failed: <html>\n<body>\r\n<h1>500</h1>\n</body></html>", metadata: ["detail": "a\nb"])
        let entry = try #require(try await journald.waitForEntries(matching: ["SYSLOG_IDENTIFIER=\(identifier)"]).first)
        #expect(entry["MESSAGE"] as? String == "GetFoundationModel failed: <html> <body> <h1>500</h1> </body></html>")
        #expect(entry["DETAIL"] as? String == "a\nb")
        let shown = try Command.run("/usr/bin/journalctl", ["--no-pager", "-o", "cat", "SYSLOG_IDENTIFIER=\(identifier)"])
        #expect(shown.stdout.split(separator: "\n").count == 1, "\(shown.stdout)")
    }

    @Test("an entry too large for a datagram travels in a sealed memfd and arrives whole")
    func largeEntry() async throws {
        let journald = try JournaldHarness()
        defer { journald.stop() }
        let identifier = "finetuned-test-\(UUID().uuidString.prefix(8))"
        // 600 KB of numbered lines, from a socket whose send buffer (64 KiB) cannot carry it in
        // a datagram; the same entry fits one from the daemon's socket.
        let message = (0..<20_000).map { String(format: "line %05d of a validation report", $0) }.joined(separator: "\n")
        #expect(message.utf8.count > 600_000)
        let fields = [("MESSAGE", message), ("SYSLOG_IDENTIFIER", identifier), ("PRIORITY", "6")]
        #expect(JournalSocket(path: "/run/systemd/journal/socket", sendBufferSize: 65536).send(fields) == .sentSealed)
        #expect(JournalLogHandler.send(fields + [("COPY", "datagram")]) == .sent)
        let entries = try await journald.waitForEntries(matching: ["SYSLOG_IDENTIFIER=\(identifier)"], count: 2)
        #expect(entries.count == 2 && entries.allSatisfy { $0["MESSAGE"] as? String == message })
        #expect(JournalSocket(path: try TemporaryDirectory().file("no-journal-here.sock")).send(fields) == .noJournal)
    }

    @Test("the daemon logs to the journal: its ready entry is found by MESSAGE_ID and _PID")
    func daemonLogsToJournal() async throws {
        let journald = try JournaldHarness()
        defer { journald.stop() }
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "journal"])
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        let entries = try await journald.waitForEntries(matching: [
            "MESSAGE_ID=\(LogMessageID.daemonReady.rawValue)", "_PID=\(daemon.pid)",
        ])
        #expect(entries.first?["MESSAGE"] as? String == "finetuned ready")
        #expect(entries.first?["SYSLOG_IDENTIFIER"] as? String == "finetuned")
        #expect(entries.first?["PRIORITY"] as? String == "5")
        #expect(daemon.log.isEmpty, "with --log-to journal nothing should go to stderr")
    }

    @Test(
        "a workflow's progress: one entry per transition with WORKFLOW_ID, PROFILE, STAGE and elapsed time; journalctl filters by WORKFLOW_ID",
        .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
    func workflowProgress() async throws {
        let journald = try JournaldHarness()
        defer { journald.stop() }
        let daemon = try DaemonHarness(configuration: CrashTests.configuration, adapters: ["local"])
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "journal"])
        #expect(await daemon.waitForReady() != nil)
        try daemon.drop(TrainingRecords.summaries(20), as: "progress.jsonl", profile: "drill")
        let done = try #require(try await daemon.waitForWorkflows(in: [.done], dropName: "progress.jsonl").first)
        let entries = try await journald.waitForEntries(matching: ["_PID=\(daemon.pid)", "WORKFLOW_ID=\(done.id)", "STAGE=done"])
        #expect(entries.first?["PROFILE"] as? String == "drill")
        let all = try journald.entries(matching: ["_PID=\(daemon.pid)", "WORKFLOW_ID=\(done.id)"])
        let stages = all.compactMap { $0["STAGE"] as? String }
        for stage in [
            "validated", "uploaded", "job_created", "training", "job_completed", "throughput_creating", "in_service",
            "base_inference", "custom_inference", "scored", "kept", "notified", "done",
        ] {
            #expect(stages.contains(stage), "no journal entry in stage \(stage)")
        }
        let transitions = all.filter { ($0["MESSAGE"] as? String)?.contains(" → ") == true }
        #expect(transitions.count >= 12 && transitions.allSatisfy { $0["ELAPSED_SECONDS"] != nil && $0["ATTEMPT"] as? String == "1" })
        let polls = all.filter { $0["SERVICE_STATUS"] != nil && ($0["MESSAGE"] as? String)?.contains("service status:") == true }
        #expect(polls.count <= 4, "one entry per status change, not per poll: \(polls.count)")
        let kept = all.filter { $0["NOTIFICATION"] as? String == "kept" }
        #expect(kept.count == 1 && (kept.first?["MESSAGE"] as? String)?.contains("kept — F1") == true)
        #expect(all.allSatisfy { ($0["MESSAGE"] as? String)?.contains("AKIA") != true })
    }

    @Test(
        "finetunectl logs reads a workflow's entries through sd_journal: stage and fields, -n, --json, -f follows new ones; show ends with the last five"
    )
    func finetunectlLogs() async throws {
        let journald = try JournaldHarness()
        defer { journald.stop() }
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "journal"])
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        try daemon.drop(TrainingRecords.summaries(21), as: "followed.jsonl")
        let workflow = try #require(try await daemon.waitForWorkflows(in: [.training], dropName: "followed.jsonl").first)
        _ = try await journald.waitForEntries(matching: ["WORKFLOW_ID=\(workflow.id)", "STAGE=training"])
        // `logs` reads the journal, not the socket.
        func logs(_ arguments: [String]) async throws -> CommandResult {
            try await blocking { try Command.run(BuiltProducts.executable("finetunectl"), ["logs"] + arguments) }
        }

        let all = try await logs([workflow.id])
        #expect(all.status == 0, "\(all.stderr)")
        let lines = all.stdout.split(separator: "\n").map(String.init)
        let expectedCount = try journald.entries(matching: ["WORKFLOW_ID=\(workflow.id)"]).count
        #expect(lines.count == expectedCount, "\(all.stdout)")
        #expect(
            lines.contains { $0.contains("  validated ") && $0.contains("drop accepted") && $0.contains("DROP_FILE=followed.jsonl") }, "\(all.stdout)"
        )
        #expect(lines.contains { $0.contains("  training ") }, "\(all.stdout)")

        let two = try await logs([workflow.id, "-n", "2"])
        #expect(two.stdout.split(separator: "\n").map(String.init) == Array(lines.suffix(2)))
        let json = try await logs([workflow.id, "--json"])
        let objects = json.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        #expect(objects.count == lines.count && objects.allSatisfy { $0["WORKFLOW_ID"] == workflow.id && $0["_PID"] == String(daemon.pid) })
        let nothing = try await logs(["wf-20261206-00000000"])
        #expect(nothing.status == 1 && nothing.stderr.contains("no journal entries for wf-20261206-00000000"), "\(nothing.stderr)")

        // Whatever an entry holds (here written raw to journald: a terminal escape and a bell),
        // what `logs` prints has no control character left.
        let raw = "wf-20261206-0000e5c0"
        #expect(
            JournalSocket(path: JournaldHarness.socketPath).send([
                ("MESSAGE", "red\u{1b}[31mtext"), ("WORKFLOW_ID", raw), ("DROP_FILE", "a\u{7}b.jsonl"), ("STAGE", "rejected"),
                ("SYSLOG_IDENTIFIER", "finetuned-test"),
            ]) == .sent)
        _ = try await journald.waitForEntries(matching: ["WORKFLOW_ID=\(raw)"])
        let escaped = try await logs([raw])
        #expect(
            escaped.status == 0 && escaped.stdout.contains("red [31mtext") && escaped.stdout.contains("DROP_FILE=a b.jsonl"),
            "\(escaped.stdout.debugDescription) \(escaped.stderr)")
        #expect(!escaped.stdout.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(escaped.stdout.debugDescription)")

        // `show` ends with the last five, as systemctl status does for a unit.
        let show = try await daemon.ctl(["show", workflow.id])
        #expect(
            show.stdout.contains("journal (finetunectl logs \(workflow.id) for more):\n" + lines.suffix(5).map { "  " + $0 }.joined(separator: "\n")),
            "\(show.stdout)")

        // -f: what the daemon logs for the workflow from now on arrives as it is written.
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: BuiltProducts.executable("finetunectl"))
        follower.arguments = ["logs", workflow.id, "-f", "-n", "0"]
        let output = Pipe()
        follower.standardOutput = output
        try follower.run()
        defer {
            if follower.isRunning {
                kill(follower.processIdentifier, SIGKILL)
                follower.waitUntilExit()
            }
        }
        let followed = Accumulated()
        output.fileHandleForReading.readabilityHandler = { followed.append($0.availableData) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await daemon.ctl(["cancel", workflow.id]).status == 0)
        let deadline = ContinuousClock.now + .seconds(20)
        while !followed.text.contains("  cancelled ") && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(followed.text.contains("cancel of \(workflow.id) requested"), "followed:\n\(followed.text)")
        #expect(followed.text.contains("  cancelled "), "followed:\n\(followed.text)")
        #expect(!followed.text.contains("drop accepted"), "-n 0 printed old entries:\n\(followed.text)")
        output.fileHandleForReading.readabilityHandler = nil
    }
}

/// Bytes a pipe's handler collects on its own thread.
final class Accumulated: Sendable {
    private let data = Mutex(Data())
    func append(_ more: Data) { data.withLock { $0.append(more) } }
    var text: String { data.withLock { String(decoding: $0, as: UTF8.self) } }
}
