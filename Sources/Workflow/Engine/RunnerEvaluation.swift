import FinetunedText
import FinetunedTime
import Foundation
import Metrics

/// Asking both models the held-out prompts, and scoring their answers.
extension WorkflowRunner {
    /// The evaluation set, minus prompts found in the training data: chosen once, at the
    /// upload, and stored; workflows from before plans were stored choose it again here.
    func plan(record: WorkflowRecord, spec: WorkflowSpec, memory: inout Memory) async throws -> EvaluationPlan {
        if let plan = memory.plan { return plan }
        if let stored = try await store.evaluationPlan(workflowID: id) {
            memory.plan = stored
            return stored
        }
        guard let set = spec.evaluationSet else { throw Failure(.step, "the profile has no evaluation_set") }
        let plan = try await environment.evaluator.plan(evaluationSet: set, trainingFile: record.spoolPath)
        guard !plan.prompts.isEmpty else {
            throw Failure(.step, "the evaluation set \(set) has no prompt left after removing \(plan.leaked) found in the training data")
        }
        memory.plan = plan
        return plan
    }

    /// Answers every prompt not yet answered, checkpointing each answer as it arrives, so a
    /// restart asks only what is missing. A prompt whose calls keep failing is recorded as
    /// failed (and left out of scoring), never skipped silently or shifted onto another.
    func runInference(
        _ model: WorkflowMachine.Model, record: WorkflowRecord, spec: WorkflowSpec, backend: any CustomizationBackend,
        memory: inout Memory
    ) async throws -> StepOutcome {
        let plan = try await plan(record: record, spec: spec, memory: &memory)
        if record.stage == .inService {
            return .event(
                .inferenceStarted(.base),
                message: "asking the base model \(plan.prompts.count) prompts"
                    + (plan.leaked > 0 ? " (\(plan.leaked) left out: found in the training data)" : ""))
        }
        let modelID: String
        switch model {
        case .base: modelID = spec.baseInferenceModel ?? spec.baseModel
        case .custom:
            guard let arn = record.context.throughputARN else { throw Failure(.step, "no throughput to ask") }
            modelID = arn
        }
        let codec = try await environment.codec(for: spec)
        let done = Set(try await store.answers(workflowID: id).filter { $0.model == model.rawValue }.map(\.index))
        // Up to the backend's width of calls in flight (Bedrock: `invoke_concurrency`); each
        // answer is saved as it arrives, whatever the order.
        var pending = plan.prompts.enumerated().filter { !done.contains($0.offset) }.makeIterator()
        try await withThrowingTaskGroup(of: InferenceAnswer.self) { group in
            for _ in 0..<max(1, backend.invokeConcurrency) {
                guard let (index, prompt) = pending.next() else { break }
                group.addTask { try await self.ask(model, index: index, prompt: prompt.prompt, modelID: modelID, codec: codec, backend: backend) }
            }
            while let answer = try await group.next() {
                try await store.saveAnswer(answer, lease: lease)
                Self.countTokens(answer, baseModel: spec.baseModel)
                try Task.checkCancellation()
                if let (index, prompt) = pending.next() {
                    group.addTask { try await self.ask(model, index: index, prompt: prompt.prompt, modelID: modelID, codec: codec, backend: backend) }
                }
            }
        }
        let answers = try await store.answers(workflowID: id).filter { $0.model == model.rawValue }
        let failed = answers.filter { $0.output == nil }.count
        return .event(
            .inferenceFinished(model),
            message: "the \(model.rawValue) model answered \(answers.count - failed) of \(plan.prompts.count) prompts"
                + (failed > 0 ? " (\(failed) failed after \(policy.invokeAttempts) tries)" : ""))
    }

    private func ask(
        _ model: WorkflowMachine.Model, index: Int, prompt: String, modelID: String, codec: any InvocationCodec,
        backend: any CustomizationBackend
    ) async throws -> InferenceAnswer {
        let body: String
        do { body = try codec.requestBody(prompt: prompt) } catch {
            return InferenceAnswer(
                workflowID: id, model: model.rawValue, index: index, output: nil,
                failure: "the adapter cannot build the request: \(ErrorWords.of(error))", attempts: 0)
        }
        var lastError = ""
        for attempt in 1...policy.invokeAttempts {
            let started = ContinuousClock.now
            do {
                let api = codec.api
                let response = try await Timers.withTimeout(policy.invokeTimeout) {
                    try await self.call {
                        switch api {
                        case .invokeModel: try await backend.invoke(modelID: modelID, body: body)
                        case .converse: try await backend.converse(modelID: modelID, body: body)
                        }
                    }
                }
                let latency = (ContinuousClock.now - started).seconds
                do {
                    let answer = try codec.response(body: response)
                    return InferenceAnswer(
                        workflowID: id, model: model.rawValue, index: index, output: answer.text, failure: nil, attempts: attempt,
                        latencySeconds: latency, inputTokens: answer.inputTokens, outputTokens: answer.outputTokens)
                } catch {
                    return InferenceAnswer(
                        workflowID: id, model: model.rawValue, index: index, output: nil,
                        failure: "the adapter cannot read the answer: \(ErrorWords.of(error))", attempts: attempt)
                }
            } catch let error as BackendError where error.isRetryable {
                lastError = error.description
                var retryAfter: Duration?
                if case .throttled(_, let after) = error { retryAfter = after }
                if attempt < policy.invokeAttempts {
                    try await Timers.sleep(for: policy.retry.delay(attempt: attempt - 1, retryAfter: retryAfter))
                }
            } catch is TimedOut {
                lastError = "no answer within \(policy.invokeTimeout.seconds) s (invoke_timeout_seconds)"
            }
        }
        return InferenceAnswer(workflowID: id, model: model.rawValue, index: index, output: nil, failure: lastError, attempts: policy.invokeAttempts)
    }

    /// Scores the prompts both models answered, archives every answer and score, and reports
    /// how many prompts were left out and why.
    func score(record: WorkflowRecord, spec: WorkflowSpec, memory: inout Memory) async throws -> StepOutcome {
        let plan = try await plan(record: record, spec: spec, memory: &memory)
        let answers = try await store.answers(workflowID: id)
        func outputs(_ model: WorkflowMachine.Model) -> [String?] {
            var byIndex: [Int: String] = [:]
            for answer in answers where answer.model == model.rawValue { byIndex[answer.index] = answer.output }
            return plan.prompts.indices.map { byIndex[$0] }
        }
        let base = outputs(.base), custom = outputs(.custom)
        let result = try await environment.evaluator.evaluate(plan: plan, base: base, custom: custom)
        writeArchive(plan: plan, answers: answers, result: result)
        let s = result.summary
        let excluded = s.excludedUnanswered > 0 ? ", \(s.excludedUnanswered) prompts left out (a model did not answer)" : ""
        return .event(
            .scored(s),
            message: String(
                format: "BERTScore F1 custom %.4f vs base %.4f over %d prompts%@; verdict %@",
                s.meanCustomF1, s.meanBaseF1, s.prompts, excluded, s.verdict))
    }

    /// `inference.jsonl` (each prompt with both answers and scores) and `scores.json`.
    private func writeArchive(plan: EvaluationPlan, answers: [InferenceAnswer], result: EvaluationResult) {
        struct Line: Encodable {
            var index: Int, line: Int, prompt: String, reference: String
            var base: String?, custom: String?, baseFailure: String?, customFailure: String?
            var baseF1: Double?, customF1: Double?
        }
        struct Scores: Encodable {
            var summary: ScoreSummary
            var evaluationSet: String
            var perPrompt: [EvaluationResult.PromptScore]
        }
        let folder = environment.archiveFolder(for: id)
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let scores = Dictionary(result.perPrompt.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        var text = ""
        for (index, prompt) in plan.prompts.enumerated() {
            let base = answers.first { $0.model == "base" && $0.index == index }
            let custom = answers.first { $0.model == "custom" && $0.index == index }
            let line = Line(
                index: index, line: prompt.line, prompt: prompt.prompt, reference: prompt.reference,
                base: base?.output, custom: custom?.output, baseFailure: base?.failure, customFailure: custom?.failure,
                baseF1: scores[index]?.baseF1, customF1: scores[index]?.customF1)
            if let data = try? encoder.encode(line) { text += String(decoding: data, as: UTF8.self) + "\n" }
        }
        try? text.write(toFile: folder + "/inference.jsonl", atomically: true, encoding: .utf8)
        encoder.outputFormatting.insert(.prettyPrinted)
        if let data = try? encoder.encode(Scores(summary: result.summary, evaluationSet: plan.source, perPrompt: result.perPrompt)) {
            try? data.write(to: URL(fileURLWithPath: folder + "/scores.json"), options: .atomic)
        }
    }
}

extension WorkflowRunner {
    /// Tokens the service reported, by base model (a custom model's ARN is new every
    /// workflow, so it would make a series per workflow) and by which model answered.
    static func countTokens(_ answer: InferenceAnswer, baseModel: String) {
        for (direction, tokens) in [("input", answer.inputTokens), ("output", answer.outputTokens)] {
            guard let tokens, tokens > 0 else { continue }
            Counter(label: "finetuned_tokens_total", dimensions: [("model", baseModel), ("role", answer.model), ("direction", direction)])
                .increment(by: tokens)
        }
    }
}
