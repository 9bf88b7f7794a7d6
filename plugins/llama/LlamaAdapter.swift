import AdapterKit

/// Meta Llama 2, 3.1, 3.2 and 3.3 on Bedrock.
///
/// Llama 2 and 3.1 train on prompt/completion records, 3.2 and 3.3 on
/// `bedrock-conversation-2024` records. Instruct models get the Llama 3 chat template at
/// inference, as they were trained to expect; Llama 2 (base, not chat) gets the raw prompt.
struct LlamaAdapter: ModelAdapter {
    enum Generation { case llama2, llama3 }

    let description = AdapterDescription(
        name: "llama", version: "1.0.0",
        summary: "Meta Llama 2, 3.1, 3.2 and 3.3 (prompt/completion or bedrock-conversation-2024 records).",
        models: [
            model(
                "meta.llama2-13b-v1:0:4k", "Llama 2 13B", "meta.llama2-13b-v1", record: .promptCompletion, maxTotal: 4096,
                lifecycle: ModelLifecycle(reportedStatus: .endOfLife),
                notes: [
                    "Reported end of life; no date recorded.",
                    "The 4,096-token limit is the context length in the model id; the collected facts state none for Llama 2.",
                ]),
            model(
                "meta.llama2-70b-v1:0:4k", "Llama 2 70B", "meta.llama2-70b-v1", record: .promptCompletion, maxTotal: 4096,
                lifecycle: ModelLifecycle(reportedStatus: .endOfLife),
                notes: [
                    "Reported end of life; no date recorded.",
                    "The 4,096-token limit is the context length in the model id; the collected facts state none for Llama 2.",
                ]),
            model(
                "meta.llama3-1-8b-instruct-v1:0:128k", "Llama 3.1 8B Instruct", "meta.llama3-1-8b-instruct-v1:0",
                record: .promptCompletion, maxTotal: 16_000,
                serving: student(teachers: [llama405, llama3170, llama3370])),
            model(
                "meta.llama3-1-70b-instruct-v1:0:128k", "Llama 3.1 70B Instruct", "meta.llama3-1-70b-instruct-v1:0",
                record: .promptCompletion, maxTotal: 16_000,
                serving: student(teachers: [llama405])),
            model(
                "meta.llama3-2-1b-instruct-v1:0:128k", "Llama 3.2 1B Instruct", "meta.llama3-2-1b-instruct-v1:0",
                record: .bedrockConversation, maxTotal: 16_000, lifecycle: llama32Lifecycle, notes: [llama32Note],
                serving: student(teachers: [llama405, llama3170, llama3370])),
            model(
                "meta.llama3-2-3b-instruct-v1:0:128k", "Llama 3.2 3B Instruct", "meta.llama3-2-3b-instruct-v1:0",
                record: .bedrockConversation, maxTotal: 16_000, lifecycle: llama32Lifecycle, notes: [llama32Note],
                serving: student(teachers: [llama3170, llama3370])),
            model(
                "meta.llama3-2-11b-instruct-v1:0:128k", "Llama 3.2 11B Instruct", "meta.llama3-2-11b-instruct-v1:0",
                record: .bedrockConversation, maxTotal: 16_000, lifecycle: llama32Lifecycle, notes: [llama32Note]),
            model(
                "meta.llama3-2-90b-instruct-v1:0:128k", "Llama 3.2 90B Instruct", "meta.llama3-2-90b-instruct-v1:0",
                record: .bedrockConversation, maxTotal: 10_000, lifecycle: llama32Lifecycle, notes: [llama32Note]),
            model(
                "meta.llama3-3-70b-instruct-v1:0:128k", "Llama 3.3 70B Instruct", "meta.llama3-3-70b-instruct-v1:0",
                record: .bedrockConversation, maxTotal: 16_000,
                notes: ["A custom model can be served on demand (us-west-2)."],
                serving: ServingFacts(
                    customizations: [.fineTuning, .distillation], onDemand: true, invokeAPI: .converse, teachers: [llama405],
                    distillationSingleTurn: true)),
        ])

    static let llama32Lifecycle = ModelLifecycle(endOfLifeDate: "2026-07-07")

    /// Distillation teachers (us-west-2), as the 2026 fact sheet lists the pairs. Meta's
    /// students learn from single-turn prompts only; Llama 3.1 405B reached end of life
    /// 2026-07-07 as reported, so Bedrock may refuse it as a teacher now.
    static let llama405 = "meta.llama3-1-405b-instruct-v1:0"
    static let llama3170 = "meta.llama3-1-70b-instruct-v1:0"
    static let llama3370 = "meta.llama3-3-70b-instruct-v1:0"

    static func student(teachers: [String]) -> ServingFacts {
        ServingFacts(customizations: [.fineTuning, .distillation], invokeAPI: .converse, teachers: teachers, distillationSingleTurn: true)
    }
    static let llama32Note = "End of life 2026-07-07 as reported."

    static func model(
        _ id: String, _ display: String, _ inference: String, record: RecordSchema, maxTotal: Int,
        lifecycle: ModelLifecycle = ModelLifecycle(), notes: [String] = [], serving: ServingFacts? = nil
    ) -> ModelDescription {
        // Llama 3.x takes Converse (AWS's advice for models that take messages); Llama 2 does not.
        let facts = serving ?? (id.hasPrefix("meta.llama2") ? ServingFacts() : ServingFacts(invokeAPI: .converse))
        return ModelDescription(
            id: id, displayName: display, inferenceID: inference, lifecycle: lifecycle, record: record,
            limits: DataLimits(maxTotalTokens: maxTotal, minTotalRecords: 100, maxTotalRecords: 10_000),
            hyperparameters: [
                HyperparameterSpec(
                    name: "epochCount", type: .integer, minimum: 1, maximum: 10, defaultValue: 5,
                    summary: "Passes over the training data."),
                HyperparameterSpec(
                    name: "batchSize", type: .integer, minimum: 1, maximum: 1, defaultValue: 1,
                    summary: "Records per parameter update (Bedrock allows only 1)."),
                HyperparameterSpec(
                    name: "learningRate", type: .float, minimum: 0.000005, maximum: 0.1, defaultValue: 0.0001,
                    summary: "Step size of each update."),
            ],
            notes: notes + ["File-size limits are not documented for Llama; none is enforced."],
            serving: facts)
    }

    static func generation(of model: String) -> Generation {
        model.hasPrefix("meta.llama2") ? .llama2 : .llama3
    }

    /// The Llama 3 instruct chat template around a single user turn, ending where the
    /// assistant's answer begins.
    static func chatPrompt(_ prompt: String) -> String {
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n\(prompt)<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n"
    }

    func buildInvokeRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue {
        _ = try model(request.model)
        let p = request.parameters
        guard p.stopSequences.isEmpty else {
            throw AdapterError("Llama models on Bedrock take no stop sequences")
        }
        guard p.topK == nil else { throw AdapterError("Llama models on Bedrock take no top_k") }
        try checkRange("max_tokens", p.maxTokens, 1...2048, model: request.model)
        try checkRange("temperature", p.temperature, 0...1, model: request.model)
        try checkRange("top_p", p.topP, 0...1, model: request.model)
        let prompt = Self.generation(of: request.model) == .llama3 ? Self.chatPrompt(request.prompt) : request.prompt
        var body: [String: JSONValue] = ["prompt": .string(prompt)]
        body.set("max_gen_len", .optional(p.maxTokens))
        body.set("temperature", .optional(p.temperature))
        body.set("top_p", .optional(p.topP))
        return .object(body)
    }

    /// Converse takes no top_k and no stop sequences for Llama on Bedrock, as InvokeModel does not.
    func buildConverseRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue {
        _ = try model(request.model)
        let p = request.parameters
        guard p.stopSequences.isEmpty else { throw AdapterError("Llama models on Bedrock take no stop sequences") }
        guard p.topK == nil else { throw AdapterError("Llama models on Bedrock take no top_k") }
        try checkRange("max_tokens", p.maxTokens, 1...2048, model: request.model)
        try checkRange("temperature", p.temperature, 0...1, model: request.model)
        try checkRange("top_p", p.topP, 0...1, model: request.model)
        return .object(Converse.request(prompt: request.prompt, parameters: p))
    }

    func parseInvokeResponse(model: String, body: JSONValue) throws(AdapterError) -> InvokeResult {
        guard let text = body["generation"]?.stringValue else {
            throw AdapterError("Llama response has no generation: \(body.serialized().prefix(200))")
        }
        let raw = body["stop_reason"]?.stringValue
        let reason: StopReason =
            switch raw {
            case "stop": .complete
            case "length": .length
            default: .unknown
            }
        return InvokeResult(
            text: text, stopReason: reason, rawStopReason: raw,
            inputTokens: body["prompt_token_count"]?.intValue, outputTokens: body["generation_token_count"]?.intValue)
    }
}

@_cdecl("finetuned_adapter_entry") public func finetunedAdapterEntry() -> UnsafeRawPointer { AdapterExport.table(for: LlamaAdapter()) }
