import FinetunedConfig
import FinetunedEvaluation
import FinetunedThreads
import FinetunedWorkflow
import Foundation

/// Scores answers with BERTScore against the references and decides with the paired
/// bootstrap of `DecisionRule`. The model is loaded on first use (`SharedModel` says how long
/// it is kept); the encoder's work runs on a thread of its own so it never holds up the event
/// loops tasks run on.
final class BERTEvaluator: WorkflowEvaluator, @unchecked Sendable {
    let model: SharedModel
    let settings: EvaluationSettings
    private static let worker = SerialWorker(name: "bertscore")

    init(model: SharedModel, settings: EvaluationSettings) {
        self.model = model
        self.settings = settings
    }

    func plan(evaluationSet: String, trainingFile: String) async throws -> EvaluationPlan {
        let items = try EvaluationSet.load(path: evaluationSet)
        let leakage = LeakageCheck(trainingPrompts: LeakageCheck.trainingPrompts(jsonl: trainingFile))
        let kept = items.filter { leakage.leak($0.prompt) == nil }
        return EvaluationPlan(prompts: kept.map { EvaluationPrompt(line: $0.line, prompt: $0.prompt, reference: $0.reference) },
                              leaked: items.count - kept.count, source: evaluationSet)
    }

    private func loadedScorer() throws -> BERTScorer {
        let parts = try model.parts()
        return BERTScorer(encoder: parts.encoder, tokenizer: parts.tokenizer, layer: settings.layer)
    }

    func evaluate(plan: EvaluationPlan, base: [String?], custom: [String?]) async throws -> EvaluationResult {
        try await Self.worker.run { try self.compute(plan: plan, base: base, custom: custom) }
    }

    private func compute(plan: EvaluationPlan, base: [String?], custom: [String?]) throws -> EvaluationResult {
        let scorer = try loadedScorer()
        let usable = plan.prompts.indices.filter { base[$0] != nil && custom[$0] != nil }
        let weights = settings.idf ? IDFWeights(references: plan.prompts.map { scorer.tokenizer.encode($0.reference) }) : nil
        // References are embedded once and scored against both answers; every text goes
        // through the encoder in length-sorted batches.
        let references = try scorer.embed(usable.map { plan.prompts[$0].reference })
        let baseAnswers = try scorer.embed(usable.map { base[$0]! })
        let customAnswers = try scorer.embed(usable.map { custom[$0]! })
        var scores: [EvaluationResult.PromptScore] = []
        for (i, index) in usable.enumerated() {
            let b = scorer.score(baseAnswers[i], references[i], idf: weights)
            let c = scorer.score(customAnswers[i], references[i], idf: weights)
            scores.append(.init(index: index, baseF1: Double(b.f1), customF1: Double(c.f1)))
        }
        let rule = DecisionRule(minImprovement: settings.minImprovement, confidence: settings.confidence,
                                resamples: settings.resamples, minPrompts: settings.minPrompts)
        let decision = rule.decide(base: scores.map(\.baseF1), custom: scores.map(\.customF1))
        let summary = ScoreSummary(
            verdict: decision.verdict.rawValue, reason: decision.reason, prompts: decision.prompts,
            excludedUnanswered: plan.prompts.count - usable.count, excludedLeaked: plan.leaked,
            meanBaseF1: decision.meanBase, meanCustomF1: decision.meanCustom,
            confidenceLow: decision.confidenceLow, confidenceHigh: decision.confidenceHigh, winShare: decision.winShare)
        return EvaluationResult(summary: summary, perPrompt: scores)
    }
}
