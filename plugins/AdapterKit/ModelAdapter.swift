/// What a plugin author implements. `AdapterExport` turns it into the C table.
///
/// Every method is a pure function of its arguments: the host calls them from several
/// threads at once.
public protocol ModelAdapter: Sendable {
    var description: AdapterDescription { get }

    /// The InvokeModel request body for `request.prompt` on `request.model`.
    func buildInvokeRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue

    /// The generated text and metadata from an InvokeModel response body.
    func parseInvokeResponse(model: String, body: JSONValue) throws(AdapterError) -> InvokeResult

    /// The Converse request body, for models that declare `invoke_api = converse`.
    func buildConverseRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue
    /// The text and metadata from a Converse response body (the shared shape by default).
    func parseConverseResponse(model: String, body: JSONValue) throws(AdapterError) -> InvokeResult

    /// Checks the record schema cannot express; nil (the default) means the adapter has none,
    /// and the host then skips the per-record call entirely.
    var recordCheck: (@Sendable (_ model: String, _ record: JSONValue) -> [RecordProblem])? { get }
}

extension ModelAdapter {
    public var recordCheck: (@Sendable (_ model: String, _ record: JSONValue) -> [RecordProblem])? { nil }

    public func buildConverseRequest(_ request: InvokeRequest) throws(AdapterError) -> JSONValue {
        throw AdapterError("\(description.name) builds no Converse requests; its models are asked through InvokeModel")
    }

    public func parseConverseResponse(model: String, body: JSONValue) throws(AdapterError) -> InvokeResult {
        try Converse.result(body)
    }

    /// The model's description, or an error naming the models this adapter knows.
    public func model(_ id: String) throws(AdapterError) -> ModelDescription {
        guard let model = description.model(id) else {
            throw AdapterError("unknown model '\(id)' (known: \(description.models.map(\.id).joined(separator: ", ")))")
        }
        return model
    }
}

/// Helpers adapters share when reading response bodies.
extension JSONValue {
    /// Follows a path of keys and indexes: `body.at("generations", 0, "text")`.
    public func at(_ path: any JSONPathComponent...) -> JSONValue? {
        var current: JSONValue? = self
        for component in path { current = current.flatMap { component.step(in: $0) } }
        return current
    }
}

public protocol JSONPathComponent { func step(in value: JSONValue) -> JSONValue? }
extension String: JSONPathComponent { public func step(in value: JSONValue) -> JSONValue? { value[self] } }
extension Int: JSONPathComponent { public func step(in value: JSONValue) -> JSONValue? { value[self] } }
