import AdapterKit

/// Cohere Command and Command Light, customized with prompt/completion records.
///
/// Sources: the Bedrock user guide's Cohere hyperparameter table and InvokeModel reference,
/// as collected in the project's mission notes. Both reached end of life on 2025-08-12 after a
/// legacy period from 2024-10-04 (../shared/BEDROCK-2026.md §5); the tables stay so that a
/// profile on them is refused with the reason rather than left unknown.
struct CohereAdapter: ModelAdapter {
    let description = AdapterDescription(
        name: "cohere", version: "1.0.0",
        summary: "Cohere Command and Command Light (prompt/completion records).",
        models: [
            model(
                id: "cohere.command-text-v14:7:4k", display: "Cohere Command", inference: "cohere.command-text-v14",
                batch: (8, 8), lifecycle: ModelLifecycle(legacyDate: "2024-10-04", endOfLifeDate: "2025-08-12"),
                notes: [
                    "Legacy 2024-10-04 and end of life 2025-08-12, as AWS's lifecycle table is quoted in the 2026 fact sheet (a third-party quote)."
                ]),
            model(
                id: "cohere.command-light-text-v14:7:4k", display: "Cohere Command Light", inference: "cohere.command-light-text-v14",
                batch: (8, 32), lifecycle: ModelLifecycle(legacyDate: "2024-10-04", endOfLifeDate: "2025-08-12"), notes: []),
        ])

    static func model(
        id: String, display: String, inference: String, batch: (Double, Double), lifecycle: ModelLifecycle, notes: [String]
    ) -> ModelDescription {
        ModelDescription(
            id: id, displayName: display, inferenceID: inference, lifecycle: lifecycle,
            record: .promptCompletion,
            limits: DataLimits(
                maxInputTokens: 4096, maxOutputTokens: 2048,
                minTrainingRecords: 32, maxTrainingRecords: 10_000, maxValidationRecords: 1_000),
            hyperparameters: [
                HyperparameterSpec(
                    name: "epochCount", type: .integer, minimum: 1, maximum: 100, defaultValue: 1,
                    summary: "Passes over the training data."),
                HyperparameterSpec(
                    name: "batchSize", type: .integer, minimum: batch.0, maximum: batch.1, defaultValue: 8,
                    summary: "Records per parameter update."),
                HyperparameterSpec(
                    name: "learningRate", type: .float, minimum: 0.000005, maximum: 0.1, defaultValue: 0.00001,
                    summary: "Step size of each update."),
                HyperparameterSpec(
                    name: "earlyStoppingThreshold", type: .float, minimum: 0, maximum: 0.1, defaultValue: 0.01,
                    summary: "Minimum validation-loss improvement that counts as progress."),
                HyperparameterSpec(
                    name: "earlyStoppingPatience", type: .integer, minimum: 1, maximum: 10, defaultValue: 6,
                    summary: "Evaluations without progress before training stops."),
                HyperparameterSpec(
                    name: "evalPercentage", type: .float, minimum: 5, maximum: 50, defaultValue: 20,
                    summary: "Share of the training data held out for validation when no validation file is given."),
            ],
            notes: notes + ["Training and validation file-size limits are not documented for Cohere; none is enforced."])
    }

    func buildInvokeRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue {
        _ = try model(request.model)
        let p = request.parameters
        try checkRange("max_tokens", p.maxTokens, 1...4096, model: request.model)
        try checkRange("temperature", p.temperature, 0...5, model: request.model)
        try checkRange("top_p", p.topP, 0...1, model: request.model)
        try checkRange("top_k", p.topK, 0...500, model: request.model)
        var body: [String: JSONValue] = ["prompt": .string(request.prompt)]
        body.set("max_tokens", .optional(p.maxTokens))
        body.set("temperature", .optional(p.temperature))
        body.set("p", .optional(p.topP))
        body.set("k", .optional(p.topK))
        if !p.stopSequences.isEmpty { body["stop_sequences"] = .array(p.stopSequences.map { .string($0) }) }
        return .object(body)
    }

    func parseInvokeResponse(model: String, body: JSONValue) throws(AdapterError) -> InvokeResult {
        guard let generation = body.at("generations", 0) else {
            throw AdapterError("Cohere response has no generations[0]: \(body.serialized().prefix(200))")
        }
        guard let text = generation["text"]?.stringValue else {
            throw AdapterError("Cohere response has no generations[0].text")
        }
        let raw = generation["finish_reason"]?.stringValue
        let reason: StopReason =
            switch raw {
            case "COMPLETE": .complete
            case "MAX_TOKENS": .length
            case "ERROR_TOXIC": .contentFiltered
            case "ERROR": .error
            default: .unknown
            }
        return InvokeResult(text: text, stopReason: reason, rawStopReason: raw)
    }
}

@_cdecl("finetuned_adapter_entry") public func finetunedAdapterEntry() -> UnsafeRawPointer { AdapterExport.table(for: CohereAdapter()) }
