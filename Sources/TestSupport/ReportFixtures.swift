import FinetunedReport
import FinetunedWorkflow
import Foundation

/// Workflow reports made to order, for the tests of the page and its charts.
public enum ReportFixtures {
    /// A report of `prompts` prompts with deterministic scores around `gain`; `epochs` epochs of
    /// 20 steps each, the validation loss per epoch when `validation`.
    public static func report(
        prompts: Int = 60, gain: Double = 0.08, epochs: Int = 5, validation: Bool = true, verdict: WorkflowReport.Verdict = .kept,
        now: Date = Date(timeIntervalSince1970: 1_800_000_000)
    ) -> WorkflowReport {
        var rng = UInt64(0x9E37_79B9_7F4A_7C15)
        func next() -> Double {
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(rng >> 11) / Double(1 << 53)
        }
        var results: [WorkflowReport.PromptResult] = []
        for i in 0..<prompts {
            let base: Double = 0.3 + 0.4 * next()
            let custom: Double = min(1, max(0, base + gain + 0.2 * (next() - 0.5)))
            let prompt = "Summarize ticket \(i): the export fails on Fridays when the queue is full. " + String(repeating: "More detail. ", count: 20)
            results.append(
                WorkflowReport.PromptResult(
                    index: i, line: i + 1, prompt: prompt, reference: "Exports fail on full Fridays (\(i)).", base: "The export fails.",
                    custom: "Exports fail on Fridays when full.", baseF1: base, customF1: custom))
        }
        var losses: [EpochMetrics] = []
        for e in 0..<epochs {
            let epoch = e + 1
            let validationLoss: Double? = validation ? 1.2 / Double(epoch) + 0.05 * Double(epoch) : nil
            losses.append(
                EpochMetrics(epoch: epoch, trainingLoss: 1.0 / Double(epoch), validationLoss: validationLoss, kept: epoch == min(3, epochs)))
        }
        var steps: [TrainingMetricsCSV.StepLoss] = []
        for e in losses {
            for s in 1...20 {
                steps.append(TrainingMetricsCSV.StepLoss(step: (e.epoch - 1) * 20 + s, epoch: e.epoch, loss: e.trainingLoss + 0.05 * next()))
            }
        }
        let validationSteps =
            validation ? losses.map { TrainingMetricsCSV.StepLoss(step: $0.epoch * 20, epoch: $0.epoch, loss: $0.validationLoss!) } : []
        let differences = results.compactMap(\.difference)
        let mean = differences.isEmpty ? 0 : differences.reduce(0, +) / Double(differences.count)
        let scores = ScoreSummary(
            verdict: verdict == .kept ? "keep" : verdict == .inconclusive ? "inconclusive" : "reject", reason: "mean F1 \(mean) (at least 0.0)",
            prompts: differences.count, excludedUnanswered: prompts - differences.count, excludedLeaked: 0,
            meanBaseF1: results.compactMap(\.baseF1).reduce(0, +) / Double(max(prompts, 1)),
            meanCustomF1: results.compactMap(\.customF1).reduce(0, +) / Double(max(prompts, 1)), confidenceLow: mean - 0.02,
            confidenceHigh: mean + 0.02, winShare: 0.99)
        let start = now.addingTimeInterval(-3600)
        let lengths: [TimeInterval] = [60, 120, 1800, 600, 500, 300, 120]
        var stages: [WorkflowReport.StageSpan] = []
        for (phase, length) in zip(WorkflowReport.Phase.allCases, lengths) {
            let begin = stages.last?.end ?? start
            stages.append(WorkflowReport.StageSpan(phase: phase, start: begin, end: begin.addingTimeInterval(length)))
        }
        let resources = [
            ResourceRecord(
                workflowID: "wf-test", kind: .job, identifier: "arn:aws:bedrock:us-east-1:1:model-customization-job/j",
                createdAt: start.addingTimeInterval(60), deletedAt: nil),
            ResourceRecord(
                workflowID: "wf-test", kind: .throughput, identifier: "arn:aws:bedrock:us-east-1:1:provisioned-model/p",
                createdAt: start.addingTimeInterval(2000), deletedAt: start.addingTimeInterval(3400)),
        ]
        return WorkflowReport(
            workflowID: "wf-test", profile: "summaries", dropName: "q4.jsonl", baseModel: "amazon.nova-lite-v1:0:300k", verdict: verdict,
            sentence: "\(verdict.rawValue.capitalized): the custom model scores higher than the base model.", scores: prompts > 0 ? scores : nil,
            prompts: results, epochs: losses, trainingSteps: steps, validationSteps: validationSteps, validation: nil, stages: stages,
            resources: resources, files: [WorkflowReport.ArchivedFile(name: "report.html", bytes: nil, what: "this report")],
            archiveFolder: "/var/lib/finetuned/archive/wf-test", failure: nil, generatedAt: now)
    }

    /// How many elements of the page carry `mark` among their classes.
    public static func count(_ mark: String, in html: String) -> Int {
        html.matches(of: try! Regex("class=\"[^\"]*\\b\(mark)\\b[^\"]*\"")).count
    }
}
