import FinetunedControl
import FinetunedScriptedBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

@Suite("Engine pacing and naming")
struct EngineUnitTests {
    @Test("backoff doubles up to its maximum, jitters within ±20%, and never waits less than Retry-After")
    func backoff() {
        let b = Backoff(initial: .seconds(2), maximum: .seconds(60))
        func close(_ delay: Duration, _ seconds: Double) -> Bool { abs(delay.seconds - seconds) < 1e-9 }
        #expect(close(b.delay(attempt: 0, unit: 0.5), 2))
        #expect(close(b.delay(attempt: 3, unit: 0.5), 16))
        #expect(close(b.delay(attempt: 10, unit: 0.5), 60))
        #expect(close(b.delay(attempt: 0, unit: 0), 1.6) && abs(b.delay(attempt: 0, unit: 0.999_999).seconds - 2.4) < 1e-5)
        #expect(close(b.delay(attempt: 0, retryAfter: .seconds(30), unit: 0.5), 30), "Retry-After wins when longer")
        #expect(close(b.delay(attempt: 5, retryAfter: .seconds(1), unit: 0.5), 60), "and our own backoff when that is longer")
        #expect(close(b.delay(attempt: 1000, unit: 0.5), 60), "no overflow for large attempts")
        #expect(close(Backoff(initial: .seconds(1), maximum: .seconds(100), multiplier: 1.5).delay(attempt: 4, unit: 0.5), 5.0625), "1.5 to the 4th")
        #expect(close(Backoff(initial: .seconds(1), maximum: .seconds(100), multiplier: 1.5).delay(attempt: 11, unit: 0.5), 86.49755859375))
    }

    @Test("client tokens and names are deterministic per workflow, attempt and step, and fit Bedrock's rules")
    func naming() {
        let a = ResourceNaming.clientToken(workflowID: "wf-20261128-0123abcd", attempt: 1, step: "create-job")
        #expect(a == ResourceNaming.clientToken(workflowID: "wf-20261128-0123abcd", attempt: 1, step: "create-job"))
        #expect(a != ResourceNaming.clientToken(workflowID: "wf-20261128-0123abcd", attempt: 2, step: "create-job"))
        #expect(a != ResourceNaming.clientToken(workflowID: "wf-20261128-0123abcd", attempt: 1, step: "create-throughput"))
        #expect(a.count == 34 && a.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(ResourceNaming.name("finetuned-wf-1", attempt: 1) == "finetuned-wf-1")
        #expect(ResourceNaming.name("finetuned-wf-1", attempt: 3) == "finetuned-wf-1-a3")
        #expect(ResourceNaming.name(String(repeating: "x", count: 80), attempt: 2).count == 63)
        #expect(ResourceNaming.sanitize("Q3 summaries / v2") == "Q3-summaries-v2")
        #expect(ResourceNaming.sanitize("///") == "finetuned")
        #expect(
            ResourceNaming.tags(workflowID: "wf-1", profile: "p", extra: ["finetuned:workflow-id": "spoof", "team": "ml"])
                == ["finetuned:workflow-id": "wf-1", "finetuned:profile": "p", "team": "ml"])
    }
}

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
