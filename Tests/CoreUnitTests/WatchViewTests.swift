import FinetunedControl
import Foundation
import Testing

@Suite("finetunectl watch: the view")
struct WatchViewTests {
    static func detail(stage: String, status: String? = nil, prompts: Int? = nil, answered: [String: Int]? = nil) -> WorkflowDetail {
        var detail = WorkflowDetail(
            workflow: WorkflowSummary(
                id: "wf-1", profile: "summaries", dropName: "q4.jsonl", stage: stage,
                createdAt: Date(timeIntervalSince1970: 1000), updatedAt: Date(timeIntervalSince1970: 1100), failure: nil),
            sha256: nil, spoolPath: "/s", archive: "/a/wf-1")
        detail.serviceStatus = status
        detail.evaluationPrompts = prompts
        detail.answered = answered
        return detail
    }

    @Test("one screen while training: stage, elapsed time, the epoch and losses")
    func training() {
        let view = WorkflowProgressView(
            detail: Self.detail(stage: "training", status: "InProgress: Training: epoch 3/8, train loss 0.2100, validation loss 0.2300"))
        let screen = view.screen(now: Date(timeIntervalSince1970: 1000 + 3725), width: 200)
        #expect(screen.contains("  stage     training"))
        #expect(screen.contains("  elapsed   1h02m05s"))
        #expect(screen.contains("  service   InProgress: Training: epoch 3/8, train loss 0.2100, validation loss 0.2300"))
        #expect(!view.finished)
        #expect(view.line == "training | InProgress: Training: epoch 3/8, train loss 0.2100, validation loss 0.2300")
    }

    @Test("inference progress n/N per model, with a bar; long lines are cut to the terminal width")
    func inference() {
        let view = WorkflowProgressView(detail: Self.detail(stage: "custom_inference", prompts: 60, answered: ["base": 60, "custom": 15]))
        let screen = view.screen(now: Date(timeIntervalSince1970: 1010), width: 60)
        #expect(screen.contains("  base      [##############################] 60/60 answered"))
        #expect(screen.contains("  custom    [#######.......................] 15/60 answered"))
        #expect(view.line == "custom_inference | answered: base 60/60, custom 15/60")
        #expect(
            WorkflowProgressView(detail: Self.detail(stage: "training", status: String(repeating: "x", count: 100)))
                .screen(now: Date(), width: 40).allSatisfy { $0.count <= 40 })
    }

    @Test("a finished workflow shows where its archive is and counts as finished")
    func finished() {
        let view = WorkflowProgressView(detail: Self.detail(stage: "done"))
        #expect(view.finished && view.screen(now: Date()).contains("  archive   /a/wf-1"))
        #expect(!WorkflowProgressView(detail: Self.detail(stage: "scored")).finished)
    }
}
