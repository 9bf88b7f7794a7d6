import AdapterKit

/// Amazon Titan Text Lite, Express and Premier.
///
/// The total-token limit depends on batch size: 4,096 tokens up to batch 2 (Lite) or 1
/// (Express), 2,048 above. Training files may be up to 1 GB, validation files 100 MB.
struct TitanAdapter: ModelAdapter {
    static let reported = "Titan Text models are reported end of life; no date is recorded."

    let description = AdapterDescription(
        name: "titan", version: "1.0.0",
        summary: "Amazon Titan Text Lite, Express and Premier (prompt/completion records).",
        models: [
            ModelDescription(
                id: "amazon.titan-text-lite-v1:0:4k", displayName: "Titan Text G1 - Lite", inferenceID: "amazon.titan-text-lite-v1",
                lifecycle: ModelLifecycle(reportedStatus: .endOfLife), record: .promptCompletion,
                limits: limits(smallBatch: 2), hyperparameters: standardHyperparameters,
                notes: [reported, "Record-count limits are not documented for Titan; none is enforced."]),
            ModelDescription(
                id: "amazon.titan-text-express-v1:0:8k", displayName: "Titan Text G1 - Express", inferenceID: "amazon.titan-text-express-v1",
                lifecycle: ModelLifecycle(reportedStatus: .endOfLife), record: .promptCompletion,
                limits: limits(smallBatch: 1), hyperparameters: standardHyperparameters,
                notes: [reported, "Record-count limits are not documented for Titan; none is enforced."]),
            ModelDescription(
                id: "amazon.titan-text-premier-v1:0:32k", displayName: "Titan Text G1 - Premier", inferenceID: "amazon.titan-text-premier-v1:0",
                lifecycle: ModelLifecycle(reportedStatus: .endOfLife), record: .promptCompletion,
                limits: DataLimits(maxTrainingFileBytes: 1_000_000_000, maxValidationFileBytes: 100_000_000),
                hyperparameters: [
                    HyperparameterSpec(
                        name: "epochCount", type: .integer, minimum: 1, maximum: 5, defaultValue: 2,
                        summary: "Passes over the training data."),
                    HyperparameterSpec(
                        name: "batchSize", type: .integer, minimum: 1, maximum: 1, defaultValue: 1,
                        summary: "Records per parameter update."),
                    HyperparameterSpec(
                        name: "learningRate", type: .float, minimum: 0.0000001, maximum: 0.00001, defaultValue: 0.000001,
                        summary: "Step size of each update."),
                    HyperparameterSpec(
                        name: "learningRateWarmupSteps", type: .integer, minimum: 0, maximum: 20, defaultValue: 5,
                        summary: "Steps over which the learning rate ramps up."),
                ],
                notes: [
                    reported,
                    "The customization model id is not among the collected Bedrock facts; confirm it with GetFoundationModel.",
                    "Token and record-count limits for Premier are not documented in the collected facts; none is enforced.",
                ]),
        ])

    static func limits(smallBatch: Int) -> DataLimits {
        DataLimits(
            maxTotalTokens: 2048,
            totalTokensByBatchSize: [
                BatchTokenLimit(maxBatchSize: smallBatch, maxTotalTokens: 4096),
                BatchTokenLimit(maxBatchSize: 64, maxTotalTokens: 2048),
            ],
            maxTrainingFileBytes: 1_000_000_000, maxValidationFileBytes: 100_000_000)
    }

    static let standardHyperparameters = [
        HyperparameterSpec(
            name: "epochCount", type: .integer, minimum: 1, maximum: 10, defaultValue: 5,
            summary: "Passes over the training data."),
        HyperparameterSpec(
            name: "batchSize", type: .integer, minimum: 1, maximum: 64, defaultValue: 1,
            summary: "Records per parameter update; above the small-batch size the token limit drops to 2,048."),
        HyperparameterSpec(
            name: "learningRate", type: .float, minimum: 0, maximum: 1, defaultValue: 0.00001,
            summary: "Step size of each update."),
        HyperparameterSpec(
            name: "learningRateWarmupSteps", type: .integer, minimum: 0, maximum: 250, defaultValue: 5,
            summary: "Steps over which the learning rate ramps up."),
    ]

    func buildInvokeRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue {
        _ = try model(request.model)
        let p = request.parameters
        guard p.topK == nil else { throw AdapterError("Titan Text models take no top_k") }
        try checkRange("max_tokens", p.maxTokens, 0...8192, model: request.model)
        try checkRange("temperature", p.temperature, 0...1, model: request.model)
        try checkRange("top_p", p.topP, 0...1, model: request.model)
        var config: [String: JSONValue] = [:]
        config.set("maxTokenCount", .optional(p.maxTokens))
        config.set("temperature", .optional(p.temperature))
        config.set("topP", .optional(p.topP))
        if !p.stopSequences.isEmpty { config["stopSequences"] = .array(p.stopSequences.map { .string($0) }) }
        return ["inputText": .string(request.prompt), "textGenerationConfig": .object(config)]
    }

    func parseInvokeResponse(model: String, body: JSONValue) throws(AdapterError) -> InvokeResult {
        guard let result = body.at("results", 0) else {
            throw AdapterError("Titan response has no results[0]: \(body.serialized().prefix(200))")
        }
        guard let text = result["outputText"]?.stringValue else {
            throw AdapterError("Titan response has no results[0].outputText")
        }
        let raw = result["completionReason"]?.stringValue
        let reason: StopReason =
            switch raw {
            case "FINISH": .complete
            case "LENGTH": .length
            case "STOP_CRITERIA_MET": .stopSequence
            case "CONTENT_FILTERED": .contentFiltered
            default: .unknown
            }
        return InvokeResult(
            text: text, stopReason: reason, rawStopReason: raw,
            inputTokens: body["inputTextTokenCount"]?.intValue, outputTokens: result["tokenCount"]?.intValue)
    }
}

@_cdecl("finetuned_adapter_entry") public func finetunedAdapterEntry() -> UnsafeRawPointer { AdapterExport.table(for: TitanAdapter()) }
