import AdapterKit

/// The local backend's model family: extractive summarization over the MiniLM sentence
/// encoder, trained and served on this machine for free rehearsals of a profile.
///
/// Its InvokeModel shape is the local backend's own: `{"document", "budget_words"}` in,
/// `{"summary", "selected", "input_words", "output_words"}` out.
struct LocalAdapter: ModelAdapter {
    let description = AdapterDescription(
        name: "local", version: "1.0.0",
        summary: "Extractive summarization trained and served locally (free rehearsals).",
        models: [
            ModelDescription(
                id: "local.minilm-extractive-v1", displayName: "Local extractive summarizer (MiniLM)",
                inferenceID: "local.minilm-extractive-v1", record: .promptCompletion,
                limits: DataLimits(
                    maxInputTokens: 8192, maxOutputTokens: 2048, minTrainingRecords: 20, maxTrainingRecords: 100_000,
                    maxTrainingFileBytes: 512_000_000),
                hyperparameters: [
                    HyperparameterSpec(
                        name: "epochCount", type: .integer, minimum: 1, maximum: 50, defaultValue: 8,
                        summary: "Passes over the training data."),
                    HyperparameterSpec(
                        name: "batchSize", type: .integer, minimum: 1, maximum: 256, defaultValue: 16,
                        summary: "Records per gradient step."),
                    HyperparameterSpec(
                        name: "learningRate", type: .float, minimum: 0.0001, maximum: 1, defaultValue: 0.05,
                        summary: "Step size of each update of the sentence-scoring head."),
                    HyperparameterSpec(
                        name: "earlyStoppingPatience", type: .integer, minimum: 1, maximum: 20, defaultValue: 3,
                        summary: "Epochs without validation-loss improvement before training stops."),
                    HyperparameterSpec(
                        name: "evalPercentage", type: .float, minimum: 5, maximum: 50, defaultValue: 20,
                        summary: "Share of the records held out for validation loss."),
                ],
                prices: Prices(
                    asOf: "2026-11-28", currency: "USD", trainingPerThousandTokens: 0, storagePerMonth: 0,
                    throughputPerModelUnitHour: 0),
                notes: ["Runs on this machine: free, and its outputs are real but small-model text."])
        ])

    func buildInvokeRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue {
        _ = try model(request.model)
        let p = request.parameters
        try checkRange("max_tokens", p.maxTokens, 1...2048, model: request.model)
        var body: [String: JSONValue] = ["document": .string(request.prompt)]
        body.set("budget_words", .optional(p.maxTokens))
        return .object(body)
    }

    func parseInvokeResponse(model: String, body: JSONValue) throws(AdapterError) -> InvokeResult {
        guard let summary = body["summary"]?.stringValue else {
            throw AdapterError("local response has no summary: \(body.serialized().prefix(200))")
        }
        return InvokeResult(
            text: summary, stopReason: .complete, rawStopReason: nil,
            inputTokens: body["input_words"]?.intValue, outputTokens: body["output_words"]?.intValue)
    }
}

@_cdecl("finetuned_adapter_entry") public func finetunedAdapterEntry() -> UnsafeRawPointer { AdapterExport.table(for: LocalAdapter()) }
