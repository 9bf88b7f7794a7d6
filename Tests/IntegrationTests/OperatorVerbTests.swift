import FinetunedControl
import FinetunedScriptedBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

@Suite("finetunectl cancel and retry")
struct OperatorVerbTests {
    @Test("cancel stops a training workflow and ends it cancelled; retry of a workflow that did not fail is refused with exit 1")
    func cancelAndRetry() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try daemon.drop(TrainingRecords.summaries(21), as: "long.jsonl")
        let training = try #require(try await daemon.waitForWorkflows(in: [.training], dropName: "long.jsonl").first)
        let refused = try await daemon.ctl(["retry", training.id])
        #expect(refused.status == 1 && refused.stderr.contains("only failed workflows can be retried"), "\(refused.stderr)")
        let cancel = try await daemon.ctl(["cancel", training.id])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(cancel.stdout.hasPrefix("\(training.id): cancelling"))
        let cancelled = try #require(try await daemon.waitForWorkflows(in: [.cancelled], dropName: "long.jsonl").first)
        #expect(cancelled.failure == "cancelled by an operator")
        #expect(try ScriptedBackend.state(at: daemon.directory.file("scripted-backend.json")).jobs.map(\.status) == ["Stopped"])
        #expect(FileManager.default.fileExists(atPath: daemon.archive + "/\(training.id)/training.jsonl"), "a cancelled drop is archived")
        let again = try await daemon.ctl(["cancel", training.id])
        #expect(again.status == 1 && again.stderr.contains("it has finished"))
        let history = try await daemon.ctl(["history", training.id])
        #expect(history.stdout.contains("cancelled by an operator"))
        let missing = try await daemon.ctl(["cancel", "wf-20000101-00000000"])
        #expect(missing.status == 1 && missing.stderr.contains("no workflow wf-20000101-00000000"))
    }
}
