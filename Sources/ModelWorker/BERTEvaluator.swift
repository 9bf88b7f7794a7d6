import FinetunedConfig
import FinetunedEvaluation
import FinetunedWorkflow
import Foundation

/// Scores answers with BERTScore against the references and decides with the paired
/// bootstrap of `DecisionRule`. Both halves run in the model worker (`ModelServer`), which
/// calls `plan` and `score`: scoring needs the encoder, and planning (reading the evaluation
/// set, leaving out prompts the training data contains) parses JSON with Foundation's
/// `JSONSerialization`, whose code would otherwise stay resident in the daemon.
public struct BERTEvaluator: WorkflowEvaluator {
    let server: ModelServer
    let settings: EvaluationSettings

    public init(server: ModelServer, settings: EvaluationSettings) {
        self.server = server
        self.settings = settings
    }

    public func plan(evaluationSet: String, trainingFile: String) async throws -> EvaluationPlan {
        let reply = try await server.request(.plan(evaluationSet: evaluationSet, trainingFile: trainingFile))
        guard case .planned(let plan) = reply else { throw UnexpectedReply(reply, to: "plan") }
        return plan
    }

    public func evaluate(plan: EvaluationPlan, base: [String?], custom: [String?]) async throws -> EvaluationResult {
        let reply = try await server.request(.score(plan: plan, base: base, custom: custom, settings: settings))
        guard case .scored(let result) = reply else { throw UnexpectedReply(reply, to: "score") }
        return result
    }

    /// The evaluation set's prompts, minus those the training data contains.
    static func plan(evaluationSet: String, trainingFile: String) throws -> EvaluationPlan {
        let items = try EvaluationSet.load(path: evaluationSet)
        let leakage = LeakageCheck(trainingPrompts: LeakageCheck.trainingPrompts(jsonl: trainingFile))
        let kept = items.filter { leakage.leak($0.prompt) == nil }
        return EvaluationPlan(
            prompts: kept.map { EvaluationPrompt(line: $0.line, prompt: $0.prompt, reference: $0.reference) },
            leaked: items.count - kept.count, source: evaluationSet)
    }

    /// The scores and the decision, computed where the model is loaded (the worker).
    static func score(
        plan: EvaluationPlan, base: [String?], custom: [String?], settings: EvaluationSettings,
        encoder: BERTEncoder, tokenizer: WordPieceTokenizer
    ) throws -> EvaluationResult {
        guard base.count == plan.prompts.count, custom.count == plan.prompts.count else {
            throw MisalignedAnswers(description: "\(plan.prompts.count) prompts, but \(base.count) base and \(custom.count) custom answers")
        }
        let scorer = BERTScorer(encoder: encoder, tokenizer: tokenizer, layer: settings.layer)
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
        let rule = DecisionRule(
            minImprovement: settings.minImprovement, confidence: settings.confidence,
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

/// Answers that do not line up with the plan's prompts cannot be scored pairwise.
struct MisalignedAnswers: Error, CustomStringConvertible {
    var description: String
}
