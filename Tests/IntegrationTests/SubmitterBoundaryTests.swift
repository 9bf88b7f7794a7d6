import Crypto
import FinetunedInbox
import FinetunedTestSupport
import FinetunedText
import FinetunedWorkflow
import Foundation
import Testing

/// The inbox is a trust boundary: each test runs one attack a member of the submit group could
/// make, against the real daemon, and checks that it is refused with a report, that nothing
/// outside the drop was read or touched, and that the daemon kept answering.
@Suite("Submitter boundary")
struct SubmitterBoundaryTests {
    static let records = TrainingRecords.summaries(25)

    /// A daemon whose profile lists two evaluation sets by name and whose secret file only the
    /// daemon's user may read: what a hostile sidecar would like to reach.
    static func daemon() throws -> DaemonHarness {
        try DaemonHarness(configuration: { dir in
            _ = try? dir.write("named-eval.jsonl", #"{"prompt": "Summarize: the named set.", "reference": "Named."}"# + "\n")
            _ = try? dir.write("secret.txt", "password=hunter2\n")
            chmod(dir.file("secret.txt"), 0o600)
            return DaemonHarness.configuration(in: dir) + """

                [profiles.rehearsal.evaluation_sets]
                named = "\(dir.file("named-eval.jsonl"))"
                """
        })
    }

    static func started() async throws -> DaemonHarness {
        let daemon = try daemon()
        try daemon.start(arguments: ["--log-to", "stderr"])
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        return daemon
    }

    static func settle(_ daemon: DaemonHarness, _ name: String) async throws -> WorkflowRecord {
        try #require(try await daemon.waitForWorkflows(dropName: name).first, "log:\n\(daemon.log)")
    }

    static func report(_ workflow: WorkflowRecord) throws -> String {
        try String(contentsOfFile: workflow.spoolPath + ".report.txt", encoding: .utf8)
    }

    static func stage(_ daemon: DaemonHarness, _ name: String, _ text: String) throws {
        try text.write(toFile: daemon.inbox + "/rehearsal/" + name, atomically: false, encoding: .utf8)
    }

    @Test("a sidecar naming a path is refused: sets are chosen by name from the profile, and the file is never read")
    func sidecarPath() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        let secret = daemon.directory.file("secret.txt")
        try Self.stage(daemon, "steal.toml", "evaluation_set = \"\(secret)\"\n")
        try daemon.drop(Self.records, as: "steal.jsonl")
        let workflow = try await Self.settle(daemon, "steal.jsonl")
        #expect(workflow.stage == .rejected)
        #expect(workflow.failure?.contains("paths are never taken from a sidecar") == true, "\(workflow.failure ?? "")")
        let report = try Self.report(workflow)
        #expect(!report.contains("hunter2"))

        // The same by name: a known name is taken, and the daemon judges on its own copy.
        try Self.stage(daemon, "named.toml", "evaluation_set = \"named\"\n")
        try daemon.drop(TrainingRecords.summaries(25, tag: "n"), as: "named.jsonl")
        let named = try await Self.settle(daemon, "named.jsonl")
        #expect(named.stage.passedValidation, "\(named.failure ?? "")")
        let copy = daemon.spool + "/\(named.id).eval.jsonl"
        #expect(try String(contentsOfFile: copy, encoding: .utf8).contains("the named set"))
        var st = stat()
        #expect(stat(copy, &st) == 0 && st.st_mode & 0o777 == 0o600)

        try Self.stage(daemon, "unknown.toml", "evaluation_set = \"other\"\n")
        try daemon.drop(TrainingRecords.summaries(25, tag: "u"), as: "unknown.jsonl")
        let unknown = try await Self.settle(daemon, "unknown.jsonl")
        #expect(unknown.stage == .rejected)
        #expect(unknown.failure == "the sidecar's evaluation_set 'other' is not in [profiles.rehearsal.evaluation_sets] (known: named)")
    }

    @Test("NAME.eval.jsonl travels with the drop and is checked at validation; a broken one rejects both, before anything is paid")
    func companionEvaluationSet() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        try Self.stage(daemon, "good.eval.jsonl", #"{"prompt": "Summarize: own prompt.", "reference": "Own."}"# + "\n")
        try daemon.drop(Self.records, as: "good.jsonl")
        let good = try await Self.settle(daemon, "good.jsonl")
        #expect(good.stage.passedValidation, "\(good.failure ?? "")")
        #expect(try String(contentsOfFile: daemon.spool + "/\(good.id).eval.jsonl", encoding: .utf8).contains("own prompt"))
        #expect(!FileManager.default.fileExists(atPath: daemon.inbox + "/rehearsal/good.eval.jsonl"), "claimed with its drop")

        try Self.stage(daemon, "bad.eval.jsonl", #"{"prompt": "fine", "reference": "fine"}"# + "\nnot json\n")
        try daemon.drop(TrainingRecords.summaries(25, tag: "b"), as: "bad.jsonl")
        let bad = try await Self.settle(daemon, "bad.jsonl")
        #expect(bad.stage == .rejected)
        #expect(bad.failure?.hasPrefix("the evaluation set bad.eval.jsonl is not usable") == true, "\(bad.failure ?? "")")
        #expect(try Self.report(bad).contains("bad.eval.jsonl:2: not a JSON object"))
        let rejected = daemon.rejected + "/rehearsal/"
        #expect(
            FileManager.default.fileExists(atPath: rejected + "bad.jsonl") && FileManager.default.fileExists(atPath: rejected + "bad.eval.jsonl"),
            "both files are kept, side by side")
        #expect(bad.context.jobARN == nil && bad.context.trainingDataURI == nil)

        // Validation data means something to a Bedrock job only; this profile's backend is not one.
        try Self.stage(daemon, "val.validation.jsonl", Self.records)
        try daemon.drop(TrainingRecords.summaries(25, tag: "v"), as: "val.jsonl")
        let val = try await Self.settle(daemon, "val.jsonl")
        #expect(val.stage == .rejected)
        #expect(
            val.failure
                == "val.validation.jsonl is validation data, which only a Bedrock job takes; the profile's scripted backend holds out part of the training data itself"
        )
    }

    @Test("a sparse terabyte drop is refused from fstat without reading it; the daemon answers and claims meanwhile")
    func sparseTerabyte() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        let staging = daemon.directory.file("sparse")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        // Over the local model's 512 MB limit, and under it: the size check and the hole check.
        for (name, size) in [("huge.jsonl", Int64(1) << 40), ("holes.jsonl", Int64(100) << 20)] {
            let fd = open(staging + "/" + name, O_CREAT | O_WRONLY, 0o644)
            try #require(fd >= 0)
            #expect(ftruncate(fd, off_t(size)) == 0)
            close(fd)
            #expect(rename(staging + "/" + name, daemon.inbox + "/rehearsal/" + name) == 0)
        }
        try daemon.drop(Self.records, as: "after.jsonl")
        let status = try await daemon.ctl(["status", "--timeout", "1"])
        #expect(status.status == 0, "answers within a second: \(status.stderr)")
        // Reading a terabyte of zeros takes hours; the check takes a system call. The wait is
        // a safety net, not a speed requirement.
        let huge = try await Self.settle(daemon, "huge.jsonl")
        #expect(huge.stage == .rejected)
        #expect(huge.failure?.contains("is 1099511627776 bytes, over the limit of 512000000 bytes") == true, "\(huge.failure ?? "")")
        let holes = try await Self.settle(daemon, "holes.jsonl")
        #expect(holes.stage == .rejected)
        #expect(holes.failure?.contains("is a sparse file") == true, "\(holes.failure ?? "")")
        let after = try await Self.settle(daemon, "after.jsonl")
        #expect(after.stage.passedValidation)
        #expect(FileManager.default.fileExists(atPath: daemon.rejected + "/rehearsal/huge.jsonl"), "kept, not deleted")
    }

    @Test("a drop being checked holds up neither READY=1, nor the control socket, nor the next claim")
    func admissionOffTheLoops() async throws {
        let daemon = try Self.daemon()
        defer { daemon.tearDown() }
        // A drop claimed before a restart, not yet admitted: admitted again after the start.
        try FileManager.default.createDirectory(atPath: daemon.spool, withIntermediateDirectories: true)
        let store = try SQLiteWorkflowStore(path: daemon.databasePath)
        let waiting = WorkflowRecord(
            id: "wf-20261206-0000000a", profile: "rehearsal", dropName: "waiting.jsonl", sha256: nil,
            spoolPath: daemon.spool + "/wf-20261206-0000000a.claimed", stage: .claimed,
            createdAt: Date(), updatedAt: Date(), ownerUID: getuid())
        try await store.insert(waiting, event: "claimed")
        try Self.records.write(toFile: waiting.spoolPath, atomically: false, encoding: .utf8)
        // Each admission sleeps on its own thread before reading, standing in for a big file.
        try daemon.start(environment: ["FINETUNED_TEST_FAULTS": "admission-delay-ms=8000"])
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        let ready = Date()
        #expect(try await daemon.ctl(["status", "--timeout", "1"]).status == 0, "answers within a second")
        try daemon.drop(TrainingRecords.summaries(25, tag: "next"), as: "next.jsonl")
        let admitted = try await daemon.waitForWorkflows(count: 2)
        #expect(admitted.count == 2 && admitted.allSatisfy { $0.stage.passedValidation }, "\(admitted.map(\.failure))")
        // The order, from the store's own times rather than from how fast this machine is:
        // READY=1 and the next claim both came before the first admission ended.
        let validated = try #require(try await store.events(workflowID: waiting.id).first { $0.stage == .validated }?.at)
        let next = try #require(admitted.first { $0.dropName == "next.jsonl" })
        #expect(ready < validated, "READY=1 came before the admission ended")
        #expect(next.createdAt < validated, "the next drop was claimed while the first was being checked")
    }

    @Test("links are never followed: a symlinked drop or sidecar is refused and its target neither read nor touched")
    func links() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        let secret = daemon.directory.file("secret.txt")
        #expect(symlink(secret, daemon.inbox + "/rehearsal/link.jsonl") == 0)
        let linked = try await Self.settle(daemon, "link.jsonl")
        #expect(linked.stage == .rejected)
        #expect(linked.failure?.contains("it is a symbolic link") == true, "\(linked.failure ?? "")")

        #expect(symlink(secret, daemon.inbox + "/rehearsal/side.toml") == 0)
        try daemon.drop(Self.records, as: "side.jsonl")
        let side = try await Self.settle(daemon, "side.jsonl")
        #expect(side.stage == .rejected)
        #expect(side.failure == "the sidecar side.toml was not taken: it is a symbolic link; links are never followed, drop the file itself")
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "password=hunter2\n")
        var st = stat()
        #expect(stat(secret, &st) == 0 && st.st_mode & 0o777 == 0o600, "the target's mode is untouched")
        #expect(!(try Self.report(side)).contains("hunter2"))
    }

    @Test("a name swapped between a file and a symlink while the daemon claims it: each claim takes the file or refuses the link")
    func swapDuringClaims() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        let secret = daemon.directory.file("secret.txt")
        let staging = daemon.directory.file("swap")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let target = daemon.inbox + "/rehearsal/race.jsonl"
        let rounds = 40
        try await blocking {
            for round in 0..<rounds {
                // The same name, alternately a training set and a link to a file the submitter
                // cannot read, each replacing the other with one rename.
                let path = staging + "/next"
                if round % 2 == 0 {
                    try TrainingRecords.summaries(25, tag: "r\(round)-").write(toFile: path, atomically: false, encoding: .utf8)
                } else {
                    _ = symlink(secret, path)
                }
                _ = rename(path, target)
                usleep(2_000)
            }
        }
        let store = try SQLiteWorkflowStore(path: daemon.databasePath)
        var settled: [WorkflowRecord] = []
        let deadline = ContinuousClock.now + .seconds(60)
        repeat {
            try await Task.sleep(for: .milliseconds(100))
            settled = try await store.workflows(in: WorkflowStage.accepted.union([.rejected, .claimed, .claiming])).filter {
                $0.dropName == "race.jsonl"
            }
        } while settled.contains(where: { $0.stage == .claimed || $0.stage == .claiming }) && ContinuousClock.now < deadline
        // Here both kinds are claimed in every run (about 20 claims, half of them links);
        // which ones depends on timing, so only what each claim did is asserted.
        #expect(!settled.isEmpty)
        for workflow in settled {
            if workflow.stage == .rejected {
                #expect(workflow.failure?.contains("symbolic link") == true, "\(workflow.failure ?? "")")
            } else {
                #expect(workflow.stage.passedValidation, "\(workflow.stage)")
                let copy = try String(contentsOfFile: daemon.spool + "/\(workflow.id).jsonl", encoding: .utf8)
                #expect(copy.hasPrefix(#"{"prompt":"Summarize ticket r"#) && !copy.contains("hunter2"))
            }
        }
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "password=hunter2\n")
        #expect(try await daemon.ctl(["status", "--timeout", "1"]).status == 0)
    }

    @Test("a drop with a second hard link is refused; one written through a kept descriptor later does not change the daemon's copy")
    func hardLinkAndKeptDescriptor() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        let staging = daemon.directory.file("links")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try Self.records.write(toFile: staging + "/two.jsonl", atomically: false, encoding: .utf8)
        #expect(link(staging + "/two.jsonl", staging + "/kept.jsonl") == 0)
        #expect(rename(staging + "/two.jsonl", daemon.inbox + "/rehearsal/two.jsonl") == 0)
        let two = try await Self.settle(daemon, "two.jsonl")
        #expect(two.stage == .rejected)
        #expect(two.failure?.contains("it has 2 hard links") == true, "\(two.failure ?? "")")

        try Self.records.write(toFile: staging + "/open.jsonl", atomically: false, encoding: .utf8)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: staging + "/open.jsonl"))
        defer { try? handle.close() }
        #expect(rename(staging + "/open.jsonl", daemon.inbox + "/rehearsal/open.jsonl") == 0)
        let open = try await Self.settle(daemon, "open.jsonl")
        #expect(open.stage.passedValidation, "\(open.failure ?? "")")
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"prompt\": \"injected\"}\n".utf8))
        let copy = try String(contentsOfFile: daemon.spool + "/\(open.id).jsonl", encoding: .utf8)
        #expect(copy == Self.records, "the daemon's copy is its own inode")
        #expect(open.sha256 == SHA256.hash(data: Array(Self.records.utf8)).hex)
        #expect(open.ownerUID == getuid(), "the owner is recorded at claim")
    }

    @Test("a name with a line feed or over 200 bytes is refused at claim with a report, and never reaches a receipt")
    func hostileNames() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        let forged = "a\nSubject: forged.jsonl"
        try daemon.drop(Self.records, as: forged)
        let lf = try await Self.settle(daemon, forged)
        #expect(lf.stage == .rejected)
        #expect(lf.failure == "the drop was not taken: its name contains control characters")
        #expect(lf.spoolPath.hasSuffix("/rehearsal/\(lf.id).jsonl"), "rejected under a name the daemon chose: \(lf.spoolPath)")
        let long = String(repeating: "x", count: 201) + ".jsonl"
        try daemon.drop(Self.records, as: long)
        let longWorkflow = try await Self.settle(daemon, long)
        #expect(longWorkflow.failure == "the drop was not taken: its name is 207 bytes long, over the limit of 200")
        let names = try FileManager.default.contentsOfDirectory(atPath: daemon.inbox + "/rehearsal")
        #expect(!names.contains { $0.contains("\n") || $0.count > 220 }, "no receipt for a name that cannot be shown: \(names)")
    }

    @Test("a receipt replaces a link planted at its name instead of following it")
    func plantedReceipt() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        let secret = daemon.directory.file("secret.txt")
        #expect(symlink(secret, daemon.inbox + "/rehearsal/.planted.jsonl.receipt") == 0)
        try daemon.drop(Self.records, as: "planted.jsonl")
        let workflow = try await Self.settle(daemon, "planted.jsonl")
        #expect(workflow.stage.passedValidation)
        var st = stat()
        #expect(lstat(daemon.inbox + "/rehearsal/.planted.jsonl.receipt", &st) == 0 && st.st_mode & S_IFMT == S_IFREG)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "password=hunter2\n")
        #expect(stat(secret, &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test("a profile folder removed while the daemon runs is made again, watched, and a drop in it is claimed")
    func folderRemoved() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        try FileManager.default.removeItem(atPath: daemon.inbox + "/rehearsal")
        let deadline = ContinuousClock.now + .seconds(30)
        var st = stat()
        while !(stat(daemon.inbox + "/rehearsal", &st) == 0 && st.st_mode & S_IFMT == S_IFDIR) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(st.st_mode & 0o7777 == 0o3770, "made again with its mode")
        // Give the old watch's end a moment to arrive, then drop into the new folder.
        try await Task.sleep(for: .milliseconds(300))
        try daemon.drop(Self.records, as: "again.jsonl")
        let again = try await Self.settle(daemon, "again.jsonl")
        #expect(again.stage.passedValidation, "\(again.failure ?? "") \(daemon.log.suffix(1500))")
    }

    @Test("profile folders are 3770 and the inbox sticky; a folder replaced by a symlink is reported and left alone")
    func folders() async throws {
        let daemon = try await Self.started()
        defer { daemon.tearDown() }
        var st = stat()
        #expect(stat(daemon.inbox + "/rehearsal", &st) == 0 && st.st_mode & 0o7777 == 0o3770, "\(String(st.st_mode, radix: 8))")
        #expect(
            stat(daemon.inbox, &st) == 0 && (st.st_mode & 0o020 == 0 || st.st_mode & S_ISVTX != 0),
            "a group-writable inbox must be sticky: \(String(st.st_mode, radix: 8))")

        let elsewhere = daemon.directory.file("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try Self.records.write(toFile: elsewhere + "/theirs.jsonl", atomically: false, encoding: .utf8)
        // Replaced while the daemon is down (in a running daemon's sticky inbox a member cannot
        // rename the folder at all): the next start must not follow it.
        daemon.signal(SIGTERM)
        #expect(await daemon.waitForExit() == 0)
        #expect(rename(daemon.inbox + "/rehearsal", daemon.directory.file("moved-away")) == 0)
        #expect(symlink(elsewhere, daemon.inbox + "/rehearsal") == 0)
        try daemon.start(arguments: ["--log-to", "stderr"])
        #expect(await daemon.waitForReady() != nil)
        let deadline = ContinuousClock.now + .seconds(30)
        while !daemon.log.contains("profile 'rehearsal' takes no drops") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(
            daemon.log.contains(
                "profile 'rehearsal' takes no drops: \(daemon.inbox)/rehearsal is a symbolic link, not a real directory; it is left alone"),
            "log:\n\(daemon.log)")
        #expect(FileManager.default.fileExists(atPath: elsewhere + "/theirs.jsonl"), "nothing behind the link was claimed")
        #expect(stat(elsewhere, &st) == 0 && st.st_mode & 0o7777 == 0o755, "the link's target keeps its mode")
        #expect(try await daemon.ctl(["status"]).status == 0)
    }
}

@Suite("Without the system's OpenSSL")
struct MissingOpenSSLTests {
    @Test("TLS is compiled in: with libcrypto and libssl hidden, the daemon mails a rejection over implicit TLS, certificate verified")
    func missingLibcrypto() async throws {
        let libraries = ["/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/libssl.so.3"]
        guard getuid() == 0, libraries.allSatisfy(FileManager.default.fileExists), FileManager.default.fileExists(atPath: "/usr/bin/unshare") else {
            print("SKIPPED: needs root, unshare and \(libraries) to hide them in a mount namespace")
            return
        }
        let dir = try TemporaryDirectory(prefix: "ftnossl")
        defer { dir.remove() }
        let certificates = try TestCertificates(in: dir)
        let out = dir.file("mail")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let peer = try PeerProcess(
            NotificationChannelTests.python,
            [
                NotificationChannelTests.script, "{port}", "tls", out,
                "--cert", certificates.cert, "--key", certificates.key,
            ])
        defer { peer.stop() }
        let daemon = try DaemonHarness(configuration: { dir in
            DaemonHarness.configuration(in: dir) + """

                [notify.email]
                host = "127.0.0.1"
                port = \(peer.port)
                security = "tls"
                ca_file = "\(certificates.ca)"
                from = "finetuned@example.com"
                to = ["ops@example.com"]
                """
        })
        defer { daemon.tearDown() }
        // Both libraries are empty files in the daemon's own mount namespace only, as on a
        // machine without OpenSSL; the host keeps its libraries.
        let script = libraries.map { "mount --bind /dev/null \($0)" }.joined(separator: " && ") + " && exec \"$0\" \"$@\""
        try daemon.start(
            arguments: ["--log-to", "stderr"], launcher: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script])
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        try daemon.drop("not json\n", as: "broken.jsonl")
        _ = try await daemon.waitForWorkflows(dropName: "broken.jsonl")
        let deadline = ContinuousClock.now + .seconds(30)
        var stored: [String] = []
        while stored.isEmpty && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            stored = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".json") }
        }
        let name = try #require(stored.first, "no mail arrived; log:\n\(daemon.log)")
        let mail = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/" + name))) as? [String: Any])
        #expect(mail["tls"] as? Bool == true)
        #expect((mail["subject"] as? String ?? "").contains("broken.jsonl"), "\(mail)")
        #expect(try await daemon.ctl(["status"]).status == 0, "the daemon still answers")
    }
}
