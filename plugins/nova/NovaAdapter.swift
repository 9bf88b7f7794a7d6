import AdapterKit

/// Amazon Nova Micro, Lite and Pro, and Nova 2 Lite, on Bedrock (us-east-1).
///
/// Sources: ../shared/BEDROCK-2026.md §1 (ids, data rules, limits, hyperparameters, request and
/// response shapes), §3.5 (on-demand serving), §4 (distillation pairs), §5 (lifecycle). Where
/// two AWS pages disagree the stricter value is used, and the model's notes say so.
struct NovaAdapter: ModelAdapter {
    /// Strings that fail a job anywhere in system or user text: the seven of the Nova guide,
    /// and the two more AWS's own dataset validator rejects (the stricter list is used).
    static let reserved = ["User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]", "Thought:", "<unk>"]

    static let media = MediaRules(
        imageFormats: ["png", "jpeg", "gif", "webp"], maxImagesPerRecord: 10,
        videoFormats: ["mov", "mkv", "mp4", "webm"], maxVideosPerRecord: 1)
    /// Nova 2 Lite's SFT page lists fewer formats (no webp, no webm).
    static let media2 = MediaRules(
        imageFormats: ["png", "jpeg", "gif"], maxImagesPerRecord: 10,
        videoFormats: ["mov", "mkv", "mp4"], maxVideosPerRecord: 1)

    static let teachers = ["amazon.nova-pro-v1:0", "amazon.nova-premier-v1:0"]

    let description = AdapterDescription(
        name: "nova", version: "1.0.0",
        summary: "Amazon Nova Micro, Lite, Pro and Nova 2 Lite (bedrock-conversation-2024 records; on-demand serving).",
        models: [
            model(
                "amazon.nova-micro-v1:0:128k", "Nova Micro", "amazon.nova-micro-v1:0", media: nil, warmupUnit: 640,
                serving: ServingFacts(customizations: [.fineTuning, .distillation], onDemand: true, invokeAPI: .converse, teachers: teachers),
                notes: ["Text only: no image or video blocks."]),
            model(
                "amazon.nova-lite-v1:0:300k", "Nova Lite", "amazon.nova-lite-v1:0", media: media, warmupUnit: 160,
                serving: ServingFacts(customizations: [.fineTuning, .distillation], onDemand: true, invokeAPI: .converse, teachers: teachers)),
            model(
                "amazon.nova-pro-v1:0:300k", "Nova Pro", "amazon.nova-pro-v1:0", media: media, warmupUnit: 320,
                serving: ServingFacts(
                    customizations: [.fineTuning, .distillation], onDemand: true, invokeAPI: .converse,
                    teachers: ["amazon.nova-premier-v1:0"])),
            model(
                "amazon.nova-2-lite-v1:0:256k", "Nova 2 Lite", "us.amazon.nova-2-lite-v1:0", media: media2, warmupUnit: nil,
                minRecords: 200, maxTokens: nil, reasoning: true,
                serving: ServingFacts(customizations: [.fineTuning], onDemand: true, invokeAPI: .converse, validationData: false),
                notes: [
                    "No validation set: Bedrock does not take one for Nova 2 Lite fine-tuning.",
                    "Invoked through the us. cross-Region profile, as AWS's examples do; in-Region invocation is not confirmed.",
                    "No Bedrock hyperparameter table was found for Nova 2 Lite; Nova Lite's ranges are used.",
                    "The per-record context length is not documented; no token limit is enforced.",
                    "reasoningContent blocks are allowed in assistant turns.",
                ]),
        ])

    static func model(
        _ id: String, _ display: String, _ inference: String, media: MediaRules?, warmupUnit: Int?, minRecords: Int = 8,
        maxTokens: Int? = 32_000, reasoning: Bool = false, serving: ServingFacts, notes: [String] = []
    ) -> ModelDescription {
        ModelDescription(
            id: id, displayName: display, inferenceID: inference,
            record: RecordSchema(
                format: .conversation,
                conversation: ConversationSchema(
                    schemaVersion: "bedrock-conversation-2024", anySchemaVersion: true, reservedStrings: reserved, media: media,
                    reasoningContent: reasoning)),
            limits: DataLimits(maxTotalTokens: maxTokens, minTrainingRecords: minRecords, maxTrainingRecords: 20_000),
            hyperparameters: [
                HyperparameterSpec(
                    name: "epochCount", type: .integer, minimum: 1, maximum: 5, defaultValue: 2,
                    summary: "Passes over the training data (for under 1,000 records AWS suggests duplicating data instead)."),
                HyperparameterSpec(
                    name: "learningRate", type: .float, minimum: 0.000001, maximum: 0.0001, defaultValue: 0.00001,
                    summary: "Step size of each update."),
                HyperparameterSpec(
                    name: "learningRateWarmupSteps", type: .integer, minimum: 0, maximum: 20, defaultValue: 10,
                    summary: "Steps over which the learning rate ramps up"
                        + (warmupUnit.map { " (advised: records ÷ \($0))" } ?? "") + ".",
                    recordsPerSuggestedUnit: warmupUnit),
            ],
            notes: notes + [
                "learningRateWarmupSteps is capped at 20 (the Nova guide) though the Bedrock guide says 100: the stricter value applies.",
                "Reserved strings include Thought: and <unk>, which AWS's dataset validator rejects beyond the guide's list.",
                "Training and validation file sizes are not documented for Nova; none is enforced.",
                "No batch size: Bedrock takes none for Nova.",
            ],
            serving: serving)
    }

    func buildInvokeRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue {
        _ = try model(request.model)
        let p = request.parameters
        try checkRange("max_tokens", p.maxTokens, 1...5000, model: request.model)
        try checkRange("temperature", p.temperature, 0.00001...1, model: request.model)
        try checkRange("top_p", p.topP, 0...1, model: request.model)
        try checkRange("top_k", p.topK, 0...128, model: request.model)
        var config: [String: JSONValue] = [:]
        config.set("maxTokens", .optional(p.maxTokens))
        config.set("temperature", .optional(p.temperature))
        config.set("topP", .optional(p.topP))
        config.set("topK", .optional(p.topK))
        if !p.stopSequences.isEmpty { config["stopSequences"] = .array(p.stopSequences.map { .string($0) }) }
        var body: [String: JSONValue] = [
            "schemaVersion": "messages-v1",
            "messages": [["role": "user", "content": [["text": .string(request.prompt)]]]],
        ]
        if !config.isEmpty { body["inferenceConfig"] = .object(config) }
        return .object(body)
    }

    /// Nova's InvokeModel answer has Converse's shape: `output.message.content[].text` (the
    /// first block with text; content may also hold reasoningContent), `stopReason`, `usage`.
    func parseInvokeResponse(model: String, body: JSONValue) throws(AdapterError) -> InvokeResult {
        try Converse.result(body)
    }

    /// Converse takes topK only through `additionalModelRequestFields` for Nova.
    func buildConverseRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue {
        _ = try model(request.model)
        let p = request.parameters
        try checkRange("max_tokens", p.maxTokens, 1...5000, model: request.model)
        try checkRange("temperature", p.temperature, 0.00001...1, model: request.model)
        try checkRange("top_p", p.topP, 0...1, model: request.model)
        try checkRange("top_k", p.topK, 0...128, model: request.model)
        var body = Converse.request(prompt: request.prompt, parameters: p)
        if let topK = p.topK { body["additionalModelRequestFields"] = ["inferenceConfig": ["topK": .number(Double(topK))]] }
        return .object(body)
    }
}

@_cdecl("finetuned_adapter_entry") public func finetunedAdapterEntry() -> UnsafeRawPointer { AdapterExport.table(for: NovaAdapter()) }
