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
