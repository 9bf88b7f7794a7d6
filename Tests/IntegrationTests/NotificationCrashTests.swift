import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

/// The outbox under a crash: a notification committed with its transition and not yet sent
/// is sent after the restart, once, to a real SMTP server.
@Suite(
    "notifications across a crash", .serialized,
    .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
struct NotificationCrashTests {
    @Test("crash between 'notification committed' and 'sent': after the restart the mail arrives exactly once", .timeLimit(.minutes(3)))
    func exactlyOnceAfterCrash() async throws {
        let mailDir = try TemporaryDirectory(prefix: "ftmail")
        defer { mailDir.remove() }
        let smtp = try PeerProcess(NotificationChannelTests.python, [NotificationChannelTests.script, "{port}", "plain", mailDir.path])
        defer { smtp.stop() }
        let port = smtp.port
        let daemon = try DaemonHarness(
            configuration: { dir in
                CrashTests.configuration(dir) + """

                    [notify.email]
                    host = "127.0.0.1"
                    port = \(port)
                    security = "none"
                    from = "finetuned <ft@example.org>"
                    to = ["ops@example.org"]
                    """
            }, adapters: ["local"])
        defer { daemon.tearDown() }
        func mails() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: mailDir.path)) ?? []).filter { $0.hasSuffix(".json") } }

        try daemon.start(environment: ["FINETUNED_TEST_FAULTS": "abort-before-notification", "SWIFT_BACKTRACE": "enable=no"])
        #expect(await daemon.waitForReady() != nil)
        try daemon.drop(TrainingRecords.summaries(20), as: "mailed.jsonl", profile: "drill")
        #expect(await daemon.waitForExit(timeout: .seconds(60)) != nil, "the fault should abort the daemon before sending")
        #expect(mails().isEmpty, "nothing was sent before the crash")
        let store = try SQLiteWorkflowStore(path: daemon.databasePath)
        let pending = try await store.pendingNotifications().filter { $0.channel == "email" }
        #expect(pending.count == 1, "the notification is in the outbox, committed and unsent")

        try daemon.start(environment: ["SWIFT_BACKTRACE": "enable=no"])
        #expect(await daemon.waitForReady() != nil)
        #expect(await eventually(timeout: .seconds(30)) { mails().count == 1 })
        let done = try await daemon.waitForWorkflows(in: [.done], dropName: "mailed.jsonl", timeout: .seconds(30))
        #expect(done.count == 1)
        // Give a second delivery every chance to happen; it must not.
        try await Task.sleep(for: .seconds(2))
        #expect(mails().count == 1)
        #expect(try await store.pendingNotifications().isEmpty)
    }

    @Test("a rejected drop is notified too: its first problem and where the report is, committed with the rejection")
    func rejectionIsNotified() async throws {
        let daemon = try DaemonHarness(
            configuration: { dir in
                DaemonHarness.configuration(in: dir) + "\n[notify.maildir]\npath = \"\(dir.file("mail"))\"\n"
            }, adapters: ["local"])
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try daemon.drop("{\"prompt\": \"a\", \"completion\": \"b\"}\nnot json at all\n", as: "broken.jsonl")
        let folder = daemon.directory.file("mail/new")
        #expect(await eventually(timeout: .seconds(20)) { ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).count == 1 })
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first)
        let message = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
        #expect(message.contains("First problem") && message.contains("broken.jsonl:2:"), "\(message)")
        #expect(message.contains("Report ") && message.contains("rejected/rehearsal/broken.jsonl.report.txt"))
        let store = try SQLiteWorkflowStore(path: daemon.databasePath)
        let rejected = try #require(try await store.workflows(in: [.rejected]).first)
        #expect(try await store.notifications(workflowID: rejected.id).map(\.channel).sorted() == ["log", "maildir"])
    }
}
