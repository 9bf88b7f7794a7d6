import FinetunedControl
import FinetunedInbox
import FinetunedScriptedBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

/// The inbox with the real daemon, real files and real inotify.
@Suite("Inbox")
struct InboxTests {
    static func settled(_ daemon: DaemonHarness, _ name: String, count: Int = 1) async throws -> [WorkflowRecord] {
        try await daemon.waitForWorkflows(count: count, dropName: name)
    }

    @Test("a drop renamed into the inbox is claimed into the spool, validated and archived with its report")
    func renameDrop() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "stderr"])
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        try daemon.drop(TrainingRecords.summaries(25), as: "tickets.jsonl")
        let workflow = try #require(try await Self.settled(daemon, "tickets.jsonl").first, "log:\n\(daemon.log)")
        #expect(workflow.stage.passedValidation, "\(workflow.failure ?? "")\n\(daemon.log)")
        #expect(!FileManager.default.fileExists(atPath: daemon.inbox + "/rehearsal/tickets.jsonl"))
        #expect(try String(contentsOfFile: daemon.spool + "/\(workflow.id).jsonl", encoding: .utf8) == TrainingRecords.summaries(25))
        let report = try String(contentsOfFile: daemon.archive + "/\(workflow.id)/validation-report.txt", encoding: .utf8)
        #expect(report.hasPrefix("tickets.jsonl: valid: 0 errors, 0 warnings (training file for local.minilm-extractive-v1)"))
        let expected = try Command.run("/usr/bin/sha256sum", [daemon.spool + "/\(workflow.id).jsonl"]).stdout.prefix(64)
        #expect(workflow.sha256 == String(expected), "the digest taken while validating is the file's SHA-256")
        #expect(daemon.log.contains("drop accepted: rehearsal/tickets.jsonl (25 records"))
    }

    @Test("a file still being written is not claimed until it is closed")
    func writeThenClose() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        let path = daemon.inbox + "/rehearsal/slow.jsonl"
        // One open for the whole write, as cp or a program writing its output does.
        let fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0o644)
        try #require(fd >= 0)
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let text = TrainingRecords.summaries(30)
        let half = text.index(text.startIndex, offsetBy: text.count / 2)
        try handle.write(contentsOf: Data(text[..<half].utf8))
        try await Task.sleep(for: .milliseconds(500))
        #expect(FileManager.default.fileExists(atPath: path), "claimed while still open for writing")
        try handle.write(contentsOf: Data(text[half...].utf8))
        try handle.close()
        let workflow = try #require(try await Self.settled(daemon, "slow.jsonl").first)
        #expect(workflow.stage.passedValidation, "\(workflow.failure ?? "")")
    }

    @Test("drops made while the daemon was down are claimed before it reports ready")
    func dropsWhileDown() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try FileManager.default.createDirectory(atPath: daemon.inbox + "/rehearsal", withIntermediateDirectories: true)
        try daemon.drop(TrainingRecords.summaries(21, tag: "a"), as: "a.jsonl")
        try daemon.drop("not json\n", as: "b.jsonl")
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        let store = try SQLiteWorkflowStore(path: daemon.databasePath)
        let all = try await store.workflows(in: WorkflowStage.accepted.union([.rejected]))
        #expect(Set(all.map(\.dropName)) == ["a.jsonl", "b.jsonl"], "READY=1 came before the waiting drops were handled")
        #expect(all.first { $0.dropName == "b.jsonl" }?.stage == .rejected)
    }

    @Test("the same bytes dropped twice are refused as a duplicate unless the sidecar says force")
    func duplicates() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        let text = TrainingRecords.summaries(22)
        try daemon.drop(text, as: "first.jsonl")
        let first = try #require(try await Self.settled(daemon, "first.jsonl").first)
        try daemon.drop(text, as: "again.jsonl")
        let again = try #require(try await Self.settled(daemon, "again.jsonl").first)
        #expect(again.stage == .rejected)
        #expect(again.failure?.contains("already being processed by workflow \(first.id)") == true, "\(again.failure ?? "")")
        let report = try String(contentsOfFile: daemon.rejected + "/rehearsal/again.jsonl.report.txt", encoding: .utf8)
        #expect(report.contains("set force = true in again.toml"))

        try daemon.directory.write("staging/forced.toml", "force = true\n")
        guard rename(daemon.directory.file("staging/forced.toml"), daemon.inbox + "/rehearsal/forced.toml") == 0 else { throw POSIXError(.EIO) }
        try daemon.drop(text, as: "forced.jsonl")
        let forced = try #require(try await Self.settled(daemon, "forced.jsonl").first)
        #expect(forced.stage.passedValidation, "\(forced.failure ?? "")")
        #expect(FileManager.default.fileExists(atPath: daemon.spool + "/\(forced.id).toml"), "the sidecar travels with its drop")
    }

    @Test("a sidecar with a bad hyperparameter or a misspelt key rejects the drop with file:line")
    func badSidecar() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try daemon.directory.write("staging/q3.toml", "[hyperparameters]\nepochCount = 500\n")
        _ = rename(daemon.directory.file("staging/q3.toml"), daemon.inbox + "/rehearsal/q3.toml")
        try daemon.drop(TrainingRecords.summaries(25), as: "q3.jsonl")
        let q3 = try #require(try await Self.settled(daemon, "q3.jsonl").first)
        #expect(q3.stage == .rejected)
        let report = try String(contentsOfFile: daemon.rejected + "/rehearsal/q3.jsonl.report.txt", encoding: .utf8)
        #expect(report.contains("hyperparameter 'epochCount' = 500: 500 is above the maximum 50"), "\(report)")
        #expect(FileManager.default.fileExists(atPath: daemon.rejected + "/rehearsal/q3.toml"))

        try daemon.directory.write("staging/q4.toml", "epochz = 3\n")
        _ = rename(daemon.directory.file("staging/q4.toml"), daemon.inbox + "/rehearsal/q4.toml")
        try daemon.drop(TrainingRecords.summaries(25, tag: "q4"), as: "q4.jsonl")
        let q4 = try #require(try await Self.settled(daemon, "q4.jsonl").first)
        #expect(q4.stage == .rejected)
        #expect(q4.failure == "q4.toml:1: unknown key 'epochz'")
    }

    @Test("a sidecar's job_name and custom_model_name are prefixes: the names always end with the workflow's own id")
    func sidecarNamesArePrefixes() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try daemon.directory.write("staging/q3.toml", "job_name = \"q3-summaries\"\ncustom_model_name = \"summaries-q3\"\n")
        _ = rename(daemon.directory.file("staging/q3.toml"), daemon.inbox + "/rehearsal/q3.toml")
        try daemon.drop(TrainingRecords.summaries(25), as: "q3.jsonl")
        let q3 = try #require(try await daemon.waitForWorkflows(in: [.training], dropName: "q3.jsonl").first)
        #expect(q3.context.spec?.jobName == "q3-summaries-\(q3.id)")
        #expect(q3.context.spec?.customModelName == "summaries-q3-\(q3.id)")
        let state = try ScriptedBackend.state(at: daemon.directory.file("scripted-backend.json"))
        #expect(state.jobs.map(\.name) == ["q3-summaries-\(q3.id)"] && state.jobs.map(\.customModelName) == ["summaries-q3-\(q3.id)"])

        // A prefix too long to leave room for the id, or one the id cannot follow, is refused at claim.
        try daemon.directory.write("staging/q4.toml", "job_name = \"\(String(repeating: "x", count: 37))\"\ncustom_model_name = \"ends_\"\n")
        _ = rename(daemon.directory.file("staging/q4.toml"), daemon.inbox + "/rehearsal/q4.toml")
        try daemon.drop(TrainingRecords.summaries(25, tag: "q4"), as: "q4.jsonl")
        let q4 = try #require(try await Self.settled(daemon, "q4.jsonl").first)
        #expect(q4.stage == .rejected)
        let report = try String(contentsOfFile: daemon.rejected + "/rehearsal/q4.jsonl.report.txt", encoding: .utf8)
        #expect(report.contains("is not a valid job name prefix (1 to 36 letters"), "\(report)")
        #expect(report.contains("'ends_' is not a valid custom model name prefix"), "\(report)")
    }

    @Test("an earlier rejection is never overwritten: the second gets a timestamped name")
    func rejectionsNeverOverwrite() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try daemon.drop("first bad\n", as: "bad.jsonl")
        _ = try await Self.settled(daemon, "bad.jsonl")
        try daemon.drop("second bad\n", as: "bad.jsonl")
        _ = try await Self.settled(daemon, "bad.jsonl", count: 2)
        let files = try FileManager.default.contentsOfDirectory(atPath: daemon.rejected + "/rehearsal").sorted()
        #expect(files.count == 4, "\(files)")
        #expect(try String(contentsOfFile: daemon.rejected + "/rehearsal/bad.jsonl", encoding: .utf8) == "first bad\n")
        let second = try #require(files.first { $0.hasPrefix("bad.2") && $0.hasSuffix(".jsonl") })
        #expect(try String(contentsOfFile: daemon.rejected + "/rehearsal/" + second, encoding: .utf8) == "second bad\n")
    }
}

/// Every bad file of the validation corpus, dropped into a running daemon.
@Suite("Inbox with the validation corpus")
struct InboxCorpusTests {
    static func corpusDaemon() throws -> DaemonHarness {
        let daemon = try DaemonHarness(
            configuration: { dir in
                DaemonHarness.configuration(in: dir, profiles: []) + """

                    [profiles.fields]
                    adapter = "example"
                    base_model = "corpus.fields-v1"
                    backend = "slow"
                    evaluation_set = "\(dir.file("eval.jsonl"))"

                    [profiles.conversation]
                    adapter = "example"
                    base_model = "corpus.conversation-v1"
                    backend = "slow"
                    evaluation_set = "\(dir.file("eval.jsonl"))"
                    """
            }, adapters: [])
        try CAdapterBuilder.build(into: daemon.directory.file("adapters"), defines: ["EXAMPLE_CORPUS"])
        return daemon
    }

    @Test("each bad file ends in rejected/ with its report and its bytes unchanged; nothing is deleted")
    func corpus() async throws {
        let daemon = try Self.corpusDaemon()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        let staging = daemon.directory.file("corpus")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        var expectedBytes: [String: [UInt8]] = [:]
        for c in ValidationCorpus.bad {
            let profile = c.conversation ? "conversation" : "fields"
            let target = daemon.inbox + "/" + profile + "/" + c.name
            switch c.content {
            case .symlink, .fifo, .directory:
                try c.materialize(at: target)
            default:
                try c.materialize(at: staging + "/" + c.name)
                expectedBytes[c.name] = Array(try Data(contentsOf: URL(fileURLWithPath: staging + "/" + c.name)))
                guard rename(staging + "/" + c.name, target) == 0 else { throw POSIXError(.EIO) }
            }
        }
        let settled = try await daemon.waitForWorkflows(count: ValidationCorpus.bad.count, timeout: .seconds(60))
        #expect(settled.count == ValidationCorpus.bad.count, "log:\n\(daemon.log)")
        for c in ValidationCorpus.bad {
            let profile = c.conversation ? "conversation" : "fields"
            let workflow = settled.first { $0.dropName == c.name }
            #expect(workflow?.stage == .rejected, "\(c.name): \(workflow?.stage.rawValue ?? "never claimed")")
            let rejected = daemon.rejected + "/" + profile + "/" + c.name
            var st = stat()
            #expect(lstat(rejected, &st) == 0, "\(c.name) is not in rejected/")
            #expect(FileManager.default.fileExists(atPath: rejected + ".report.txt"), "\(c.name) has no report")
            if let bytes = expectedBytes[c.name] {
                #expect(Array(try Data(contentsOf: URL(fileURLWithPath: rejected))) == bytes, "\(c.name) changed")
            }
            if case .symlink(let target) = c.content {
                #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: rejected)) == target, "the link itself moved, unfollowed")
            }
            let report = (try? String(contentsOfFile: rejected + ".report.txt", encoding: .utf8)) ?? ""
            if let location = c.expectedLocation, c.expectedKind != "unreadable" {
                #expect(report.contains("\(c.name):\(location)"), "\(c.name): report lacks \(location):\n\(report)")
            }
        }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: daemon.inbox + "/fields").filter { !$0.hasPrefix(".") }.isEmpty,
            "only receipts (dotfiles) may stay in the inbox")
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.spool).isEmpty)
        // /etc/shadow was never read: its first entry (root's) appears in no report.
        let reports = try FileManager.default.contentsOfDirectory(atPath: daemon.rejected + "/fields").filter { $0.hasSuffix(".report.txt") }
        #expect(!reports.isEmpty)
        if let shadow = try? String(contentsOfFile: "/etc/shadow", encoding: .utf8), let first = shadow.split(separator: "\n").first {
            for report in reports {
                let text = try String(contentsOfFile: daemon.rejected + "/fields/" + report, encoding: .utf8)
                #expect(!text.contains(first), "\(report) quotes /etc/shadow")
            }
        }
    }

    @Test("the good corpus files are accepted through the inbox")
    func good() async throws {
        let daemon = try Self.corpusDaemon()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        for c in ValidationCorpus.good {
            guard case .bytes(let bytes) = c.content else { continue }
            try daemon.drop(bytes: bytes, as: c.name, profile: c.conversation ? "conversation" : "fields")
        }
        let settled = try await daemon.waitForWorkflows(count: ValidationCorpus.good.count)
        for workflow in settled {
            #expect(workflow.stage.passedValidation, "\(workflow.dropName): \(workflow.failure ?? "")")
        }
        #expect(settled.count == ValidationCorpus.good.count)
    }
}

/// inotify's queue limit is a system-wide setting read when an instance is created; these
/// tests lower it for their daemon only, one at a time.
@Suite("Inbox under pressure", .serialized)
struct InboxPressureTests {
    @Test("a queue overflow triggers a rescan and no drop is missed")
    func overflow() async throws {
        let limitPath = "/proc/sys/fs/inotify/max_queued_events"
        let original = try String(contentsOfFile: limitPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try "16\n".write(toFile: limitPath, atomically: false, encoding: .utf8)
        do {
            try daemon.start(arguments: ["--log-to", "stderr"], environment: ["FINETUNED_TEST_FAULTS": "inotify-read-delay-ms=300"])
            let ready = await daemon.waitForReady()
            try original.write(toFile: limitPath, atomically: false, encoding: .utf8)
            #expect(ready != nil)
        } catch {
            try? original.write(toFile: limitPath, atomically: false, encoding: .utf8)
            throw error
        }
        // Many drops at once while the reader pauses between reads: the 16-event queue overflows.
        for i in 1...150 { try daemon.drop(TrainingRecords.summaries(21, tag: "o\(i)-"), as: "o\(i).jsonl") }
        let settled = try await daemon.waitForWorkflows(count: 150, timeout: .seconds(90))
        #expect(settled.count == 150, "missed \(150 - settled.count) drops")
        #expect(settled.allSatisfy { $0.stage.passedValidation })
        #expect(daemon.log.contains("inotify queue overflowed; rescanning the inbox"), "no overflow happened; the test proved nothing")
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.inbox + "/rehearsal").filter { !$0.hasPrefix(".") }.isEmpty)
    }

    @Test("a claim interrupted by a crash is settled at the next start: rolled back or completed")
    func interruptedClaim() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try FileManager.default.createDirectory(atPath: daemon.spool, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: daemon.inbox + "/rehearsal", withIntermediateDirectories: true)
        let store = try SQLiteWorkflowStore(path: daemon.databasePath)
        // Crash after recording, before the rename: the drop is still in the inbox.
        let before = WorkflowRecord(
            id: "wf-20261128-00000001", profile: "rehearsal", dropName: "before.jsonl", sha256: nil,
            spoolPath: daemon.spool + "/wf-20261128-00000001.jsonl", stage: .claiming, createdAt: Date(), updatedAt: Date())
        try await store.insert(before, event: "claiming")
        try daemon.drop(TrainingRecords.summaries(21, tag: "b"), as: "before.jsonl")
        // Crash after the rename, before recording it: the drop is in the spool, not yet copied.
        let after = WorkflowRecord(
            id: "wf-20261128-00000002", profile: "rehearsal", dropName: "after.jsonl", sha256: nil,
            spoolPath: daemon.spool + "/wf-20261128-00000002.claimed", stage: .claiming, createdAt: Date(), updatedAt: Date())
        try await store.insert(after, event: "claiming")
        try TrainingRecords.summaries(21, tag: "c").write(toFile: after.spoolPath, atomically: true, encoding: .utf8)

        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        _ = try await daemon.waitForWorkflows(count: 2)
        #expect(try await store.workflow(id: before.id) == nil, "the unfinished claim should be rolled back")
        let reclaimed = try await store.workflows(in: WorkflowStage.accepted).filter { $0.dropName == "before.jsonl" }
        #expect(reclaimed.count == 1, "the drop left in the inbox is claimed anew, exactly once")
        #expect(try await store.workflow(id: after.id)?.stage.passedValidation == true)
        #expect(try await store.events(workflowID: after.id).map(\.message).contains("claiming → claimed: claim completed after a restart"))
    }
}

@Suite("finetunectl submit")
struct SubmitCommandTests {
    @Test("submit drops safely, prints the workflow id and the verdict, and exits 0 or 1 by it")
    func submit() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        let good = try daemon.directory.write("mine/tickets.jsonl", TrainingRecords.summaries(25))
        let ctl = BuiltProducts.executable("finetunectl")
        let ok = try await blocking { try Command.run(ctl, ["submit", good, "--profile", "rehearsal", "--inbox", daemon.inbox]) }
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        let lines = ok.stdout.split(separator: "\n").map(String.init)
        let idLine = try #require(lines.first { $0.hasPrefix("workflow wf-") })
        let id = String(idLine.dropFirst("workflow ".count))
        let store = try SQLiteWorkflowStore(path: daemon.databasePath)
        #expect(try await store.workflow(id: id)?.stage.passedValidation == true)
        #expect(lines.last?.hasPrefix("validated: 25 records") == true)
        #expect(!FileManager.default.fileExists(atPath: Receipt.path(folder: daemon.inbox + "/rehearsal", dropName: "tickets.jsonl")))

        let overridden = try await blocking {
            try Command.run(
                ctl, ["submit", good, "--profile", "rehearsal", "--inbox", daemon.inbox, "--name", "t2.jsonl", "--set", "epochCount=500", "--force"])
        }
        #expect(overridden.status == 1, "\(overridden.stdout)\(overridden.stderr)")
        #expect(
            overridden.stdout.contains("rejected: t2.toml") || overridden.stdout.contains("hyperparameter 'epochCount' = 500"), "\(overridden.stdout)"
        )
        #expect(overridden.stdout.contains("report: \(daemon.rejected)/rehearsal/t2.jsonl.report.txt"))

        let usage = try await blocking { try Command.run(ctl, ["submit", good, "--profile", "nope", "--inbox", daemon.inbox]) }
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("no inbox folder for profile 'nope'"))
    }
}

@Suite("Inbox ownership rule")
struct InboxOwnershipTests {
    @Test("with require_group = true a drop owned by a user outside the submit group is rejected unread; by default it is accepted")
    func requireGroup() async throws {
        for (require, expected) in [(true, WorkflowStage.rejected), (false, WorkflowStage.validated)] {
            let daemon = try DaemonHarness(configuration: { dir in
                DaemonHarness.configuration(in: dir) + "\n[inbox]\nsubmit_group = \"finetuned-test-nobody-is-in-it\"\nrequire_group = \(require)\n"
            })
            defer { daemon.tearDown() }
            try daemon.start()
            #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
            let staging = daemon.directory.file("foreign.jsonl")
            try TrainingRecords.summaries(22).write(toFile: staging, atomically: false, encoding: .utf8)
            chown(staging, 65534, 65534)
            guard rename(staging, daemon.inbox + "/rehearsal/foreign.jsonl") == 0 else { throw POSIXError(.EIO) }
            let workflow = try #require(try await daemon.waitForWorkflows(dropName: "foreign.jsonl").first)
            #expect(
                expected == .rejected ? workflow.stage == .rejected : workflow.stage.passedValidation,
                "require_group = \(require): \(workflow.failure ?? "")")
            if require {
                #expect(
                    workflow.failure
                        == "foreign.jsonl is owned by uid 65534, who is not in the group 'finetuned-test-nobody-is-in-it' (require_group = true)")
                #expect(FileManager.default.fileExists(atPath: daemon.rejected + "/rehearsal/foreign.jsonl.report.txt"))
            }
        }
    }
}

@Suite("Workflows as the operator sees them")
struct OperatorViewTests {
    @Test("STATUS= follows the drops; list, show and history tell what happened to each")
    func statusListShowHistory() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try daemon.drop(TrainingRecords.summaries(21), as: "good.jsonl")
        let good = try #require(try await daemon.waitForWorkflows(dropName: "good.jsonl").first)
        // The scripted backend of the harness trains for ever: the workflow settles in training.
        let running = await daemon.notify.next(where: {
            $0.assignments["STATUS"] == "1 workflow running, 0 waiting; last: rehearsal/good.jsonl training"
        })
        #expect(running != nil, "STATUS= did not follow the accepted drop into training\n\(daemon.log)")
        try daemon.drop("bad\n", as: "bad.jsonl")
        let bad = try #require(try await daemon.waitForWorkflows(dropName: "bad.jsonl").first)
        let rejected = await daemon.notify.next(where: {
            $0.assignments["STATUS"] == "1 workflow running, 0 waiting; last: rehearsal/bad.jsonl rejected"
        })
        #expect(rejected != nil)

        let status = try JSONDecoder.control.decode(DaemonStatus.self, from: Data(try await daemon.ctl(["status", "--json"]).stdout.utf8))
        #expect(status.counts == WorkflowCounts(running: 1, waiting: 0, succeeded: 0, failed: 0, rejected: 1, cancelled: 0))
        #expect(status.liveResources.map(\.kind) == ["job"], "the job is live, and costs money while it trains")

        let active = try JSONDecoder.control.decode([WorkflowSummary].self, from: Data(try await daemon.ctl(["list", "--json"]).stdout.utf8))
        #expect(active.map(\.id) == [good.id])
        let all = try JSONDecoder.control.decode([WorkflowSummary].self, from: Data(try await daemon.ctl(["list", "--all", "--json"]).stdout.utf8))
        #expect(Set(all.map(\.id)) == [good.id, bad.id])
        let table = try await daemon.ctl(["list", "--all"])
        #expect(table.stdout.contains(bad.id) && table.stdout.contains("rejected") && table.stdout.contains("bad.jsonl"))
        // A negative limit once trapped the daemon: refused by finetunectl, and by the daemon itself.
        let negative = try await daemon.ctl(["list", "--limit=-1"])
        #expect(negative.status != 0 && negative.stderr.contains("--limit must be from 0 to 10000"), "\(negative.stderr)")
        for limit in ["-1", "99999999999999999999", "ten"] {
            do {
                _ = try await blocking {
                    try ControlClient(socketPath: daemon.socketPath).call(
                        ControlRequest(verb: "list", arguments: ["all": "true", "limit": limit]), as: [WorkflowSummary].self)
                }
                Issue.record("limit \(limit) was accepted")
            } catch {
                #expect("\(error)".contains("limit must be a whole number from 0 to 10000"), "\(error)")
            }
        }
        #expect(try await daemon.ctl(["status"]).status == 0, "the daemon still answers")

        let shown = try await daemon.ctl(["show", bad.id])
        #expect(shown.stdout.contains("  stage:    rejected"))
        #expect(shown.stdout.contains("  reason:   bad.jsonl:1:1: error:"), "\(shown.stdout)")
        #expect(shown.stdout.contains("  drop:     \(daemon.rejected)/rehearsal/bad.jsonl\n"), "show points at the drop where it is now")
        let history = try JSONDecoder.control.decode(
            [HistoryEntry].self, from: Data(try await daemon.ctl(["history", good.id, "--json"]).stdout.utf8))
        #expect(Array(history.map(\.stage).prefix(7)) == ["claiming", "claimed", "validated", "validated", "uploaded", "job_created", "training"])
        #expect(history.map(\.kind).contains("poll"), "the service's status is recorded when it changes")
        #expect(history.first?.sincePrevious == nil && history.dropFirst().allSatisfy { ($0.sincePrevious ?? -1) >= 0 })
        let missing = try await daemon.ctl(["show", "wf-20000101-deadbeef"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "finetunectl: no workflow wf-20000101-deadbeef\n")
    }
}
