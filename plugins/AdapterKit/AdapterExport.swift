import CFinetunedAdapter

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

public enum AdapterABI {
    public static let major = Int(FINETUNED_ADAPTER_ABI_MAJOR)
    public static let minor = Int(FINETUNED_ADAPTER_ABI_MINOR)
}

/// Builds the C function table for a `ModelAdapter`. A plugin's whole export is one line:
///
///     @_cdecl("finetuned_adapter_entry") public func entry() -> UnsafeRawPointer { AdapterExport.table(for: MyAdapter()) }
///
/// C function pointers cannot capture, so the adapter is kept in this plugin's own copy of
/// AdapterKit (each plugin links it statically) and the table's functions reach it there.
public enum AdapterExport {
    nonisolated(unsafe) private static var installed: (any ModelAdapter)?
    nonisolated(unsafe) private static var table: UnsafeMutablePointer<finetuned_adapter_v1>?
    nonisolated(unsafe) private static var describeCache: String?

    /// Returns the table, creating it on the first call; later calls return the same table.
    /// The host calls the entry point once, right after `dlopen`, before any other call.
    public static func table(for adapter: @autoclosure () -> some ModelAdapter) -> UnsafeRawPointer {
        if let table { return UnsafeRawPointer(table) }
        let made = adapter()
        installed = made
        describeCache = made.description.json().serialized()
        let pointer = UnsafeMutablePointer<finetuned_adapter_v1>.allocate(capacity: 1)
        pointer.initialize(
            to: finetuned_adapter_v1(
                abi_major: UInt32(FINETUNED_ADAPTER_ABI_MAJOR),
                abi_minor: UInt32(FINETUNED_ADAPTER_ABI_MINOR),
                size: UInt32(MemoryLayout<finetuned_adapter_v1>.size),
                reserved: 0,
                describe: { AdapterExport.copy(AdapterExport.describeCache ?? "{}") },
                build_invoke_request: { AdapterExport.answer($0, AdapterExport.buildInvokeRequest) },
                parse_invoke_response: { AdapterExport.answer($0, AdapterExport.parseInvokeResponse) },
                check_record: made.recordCheck == nil ? nil : { AdapterExport.answer($0, AdapterExport.checkRecord) },
                free_string: { free($0) }))
        table = pointer
        return UnsafeRawPointer(pointer)
    }

    static func buildInvokeRequest(_ input: JSONValue) throws(AdapterError) -> JSONValue {
        let request: InvokeRequest
        do { request = try InvokeRequest(json: input) } catch { throw AdapterError("bad request: \(error)") }
        switch request.api {
        case .invokeModel: return ["body": try installed!.buildInvokeRequest(request)]
        case .converse: return ["body": try installed!.buildConverseRequest(request)]
        }
    }

    static func parseInvokeResponse(_ input: JSONValue) throws(AdapterError) -> JSONValue {
        guard let model = input["model"]?.stringValue, let raw = input["body"]?.stringValue else {
            throw AdapterError("bad request: expected {\"model\": string, \"body\": string}")
        }
        let body: JSONValue
        do { body = try JSONValue(parsing: raw) } catch { throw AdapterError("the response body is not JSON: \(error)") }
        if input["api"]?.stringValue == InvokeAPI.converse.rawValue {
            return try installed!.parseConverseResponse(model: model, body: body).json()
        }
        return try installed!.parseInvokeResponse(model: model, body: body).json()
    }

    static func checkRecord(_ input: JSONValue) throws(AdapterError) -> JSONValue {
        guard let model = input["model"]?.stringValue, let record = input["record"] else {
            throw AdapterError("bad request: expected {\"model\": string, \"record\": object}")
        }
        return RecordProblem.json(installed!.recordCheck?(model, record) ?? [])
    }

    /// Parses the host's argument, runs `body`, and encodes its result or its error.
    static func answer(
        _ argument: UnsafePointer<CChar>?, _ body: (JSONValue) throws(AdapterError) -> JSONValue
    ) -> UnsafeMutablePointer<CChar>? {
        guard let argument else { return copy(#"{"error":"no argument"}"#) }
        let input: JSONValue
        do {
            input = try JSONValue(parsing: String(cString: argument))
        } catch {
            return copy(JSONValue.object(["error": .string("the argument is not JSON: \(error)")]).serialized())
        }
        do {
            return copy(try body(input).serialized())
        } catch {
            return copy(JSONValue.object(["error": .string(error.message)]).serialized())
        }
    }

    /// A malloc'd copy the host gives back through `free_string`.
    static func copy(_ text: String) -> UnsafeMutablePointer<CChar>? {
        text.withCString { strdup($0) }
    }
}
