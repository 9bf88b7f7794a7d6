/// Inference settings in the host's vocabulary; each adapter maps them onto its model's own
/// request fields (`max_tokens`, `max_gen_len`, `maxTokenCount`, …).
public struct InferenceParameters: Sendable, Equatable {
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var stopSequences: [String]

    public init(maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, stopSequences: [String] = []) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.stopSequences = stopSequences
    }
}

/// What `build_invoke_request` receives.
public struct InvokeRequest: Sendable, Equatable {
    /// The base model id from the adapter's table (for a custom model: the one it was trained from).
    public var model: String
    public var prompt: String
    public var parameters: InferenceParameters
    /// ABI 1.1: `converse` asks for a Converse body, only of models whose description says
    /// `"invoke_api": "converse"` (a 1.0 plugin is never asked).
    public var api: InvokeAPI

    public init(model: String, prompt: String, parameters: InferenceParameters = InferenceParameters(), api: InvokeAPI = .invokeModel) {
        self.model = model
        self.prompt = prompt
        self.parameters = parameters
        self.api = api
    }
}

/// Converse's request and response, the same for every model that takes messages: adapters
/// build on it and add what their model needs (`additionalModelRequestFields`).
public enum Converse {
    /// `{"messages": [{"role": "user", "content": [{"text": prompt}]}], "inferenceConfig": {…}}`.
    public static func request(prompt: String, parameters: InferenceParameters) -> [String: JSONValue] {
        var config: [String: JSONValue] = [:]
        config.set("maxTokens", .optional(parameters.maxTokens))
        config.set("temperature", .optional(parameters.temperature))
        config.set("topP", .optional(parameters.topP))
        if !parameters.stopSequences.isEmpty { config["stopSequences"] = .array(parameters.stopSequences.map { .string($0) }) }
        var body: [String: JSONValue] = ["messages": [["role": "user", "content": [["text": .string(prompt)]]]]]
        if !config.isEmpty { body["inferenceConfig"] = .object(config) }
        return body
    }

    /// `output.message.content[].text` (the first text block), `stopReason`, `usage`.
    public static func result(_ body: JSONValue) throws(AdapterError) -> InvokeResult {
        guard case .array(let content)? = body.at("output", "message", "content"),
            let text = content.lazy.compactMap({ $0["text"]?.stringValue }).first
        else {
            throw AdapterError("Converse response has no output.message.content text: \(body.serialized().prefix(200))")
        }
        let raw = body["stopReason"]?.stringValue
        let reason: StopReason =
            switch raw {
            case "end_turn": .complete
            case "max_tokens": .length
            case "stop_sequence": .stopSequence
            case "content_filtered", "guardrail_intervened": .contentFiltered
            case "malformed_model_output", "malformed_tool_use": .error
            default: .unknown
            }
        return InvokeResult(
            text: text, stopReason: reason, rawStopReason: raw,
            inputTokens: body.at("usage", "inputTokens")?.intValue, outputTokens: body.at("usage", "outputTokens")?.intValue)
    }
}

/// Why generation stopped, normalised across model families.
public enum StopReason: String, Sendable, Equatable {
    case complete
    case length
    case stopSequence = "stop_sequence"
    case contentFiltered = "content_filtered"
    case error
    case unknown
}

/// What `parse_invoke_response` returns.
public struct InvokeResult: Sendable, Equatable {
    public var text: String
    public var stopReason: StopReason
    /// The model's own word for it (`MAX_TOKENS`, `length`, `FINISH`).
    public var rawStopReason: String?
    public var inputTokens: Int?
    public var outputTokens: Int?

    public init(text: String, stopReason: StopReason, rawStopReason: String? = nil, inputTokens: Int? = nil, outputTokens: Int? = nil) {
        self.text = text
        self.stopReason = stopReason
        self.rawStopReason = rawStopReason
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// A finding of an adapter's per-record hook.
public struct RecordProblem: Sendable, Equatable {
    public enum Severity: String, Sendable, Equatable { case error, warning }
    public var severity: Severity
    public var message: String

    public init(_ severity: Severity, _ message: String) {
        self.severity = severity
        self.message = message
    }
}

/// An adapter's refusal, passed to the host as `{"error": message}`.
public struct AdapterError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

// MARK: - The JSON documents of the ABI

extension InferenceParameters {
    public func json() -> JSONValue {
        var object: [String: JSONValue] = ["stop_sequences": .array(stopSequences.map { .string($0) })]
        if let maxTokens { object["max_tokens"] = .number(Double(maxTokens)) }
        if let temperature { object["temperature"] = .number(temperature) }
        if let topP { object["top_p"] = .number(topP) }
        if let topK { object["top_k"] = .number(Double(topK)) }
        return .object(object)
    }

    public init(json: JSONValue) throws(DescriptionError) {
        let r = try JSONObjectReader(json, path: "parameters")
        maxTokens = try r.optionalInteger("max_tokens")
        temperature = try r.optionalNumber("temperature")
        topP = try r.optionalNumber("top_p")
        topK = try r.optionalInteger("top_k")
        stopSequences = try r.strings("stop_sequences")
    }
}

extension InvokeRequest {
    public func json() -> JSONValue {
        var object: [String: JSONValue] = ["model": .string(model), "prompt": .string(prompt), "parameters": parameters.json()]
        if api != .invokeModel { object["api"] = .string(api.rawValue) }
        return .object(object)
    }

    public init(json: JSONValue) throws(DescriptionError) {
        let r = try JSONObjectReader(json)
        model = try r.string("model")
        prompt = try r.string("prompt")
        parameters = try r.value("parameters").map { (p) throws(DescriptionError) in try InferenceParameters(json: p) } ?? InferenceParameters()
        let apiText = try r.optionalString("api") ?? InvokeAPI.invokeModel.rawValue
        guard let api = InvokeAPI(rawValue: apiText) else { throw r.error("api", "must be invoke_model or converse") }
        self.api = api
    }
}

extension InvokeResult {
    public func json() -> JSONValue {
        var object: [String: JSONValue] = ["text": .string(text), "stop_reason": .string(stopReason.rawValue)]
        if let rawStopReason { object["raw_stop_reason"] = .string(rawStopReason) }
        if let inputTokens { object["input_tokens"] = .number(Double(inputTokens)) }
        if let outputTokens { object["output_tokens"] = .number(Double(outputTokens)) }
        return .object(object)
    }

    public init(json: JSONValue) throws(DescriptionError) {
        let r = try JSONObjectReader(json)
        text = try r.string("text")
        let reason = try r.string("stop_reason")
        guard let stop = StopReason(rawValue: reason) else {
            throw r.error("stop_reason", "unknown stop reason '\(reason)'")
        }
        stopReason = stop
        rawStopReason = try r.optionalString("raw_stop_reason")
        inputTokens = try r.optionalInteger("input_tokens")
        outputTokens = try r.optionalInteger("output_tokens")
    }
}

extension RecordProblem {
    public static func list(json: JSONValue) throws(DescriptionError) -> [RecordProblem] {
        let r = try JSONObjectReader(json)
        var out: [RecordProblem] = []
        for p in try r.objects("problems") {
            let severityText = try p.string("severity")
            guard let severity = Severity(rawValue: severityText) else { throw p.error("severity", "must be error or warning") }
            out.append(RecordProblem(severity, try p.string("message")))
        }
        return out
    }

    public static func json(_ problems: [RecordProblem]) -> JSONValue {
        ["problems": .array(problems.map { ["severity": .string($0.severity.rawValue), "message": .string($0.message)] })]
    }
}
