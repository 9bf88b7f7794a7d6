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

    public init(model: String, prompt: String, parameters: InferenceParameters = InferenceParameters()) {
        self.model = model
        self.prompt = prompt
        self.parameters = parameters
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
        ["model": .string(model), "prompt": .string(prompt), "parameters": parameters.json()]
    }

    public init(json: JSONValue) throws(DescriptionError) {
        let r = try JSONObjectReader(json)
        model = try r.string("model")
        prompt = try r.string("prompt")
        parameters = try r.value("parameters").map { (p) throws(DescriptionError) in try InferenceParameters(json: p) } ?? InferenceParameters()
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
