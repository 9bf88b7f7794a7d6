import AdapterKit
import CFinetunedAdapter
import Foundation

/// One adapter plugin, opened and checked.
///
/// Everything the plugin returns is parsed and validated before use: a plugin that answers
/// nonsense produces an `AdapterCallError` naming it, never a crash or a wrong request.
/// Libraries are never closed: unloading Swift (or most C++) code that may still have
/// threads or metadata registered is not safe, and reloads are rare.
/// `@unchecked Sendable`: the table is immutable static data inside the plugin, and every
/// function in it is reentrant by the ABI's contract.
public final class LoadedAdapter: @unchecked Sendable {
    public let path: String
    public let description: AdapterDescription
    /// Identifies the file that was loaded, so a rescan can tell a replaced file from the same one.
    public let fileIdentity: FileIdentity
    private let table: UnsafePointer<finetuned_adapter_v1>

    public var name: String { description.name }
    public var hasRecordCheck: Bool { table.pointee.check_record != nil }

    /// Opens `path`, checks its file security, ABI and description.
    public static func load(path: String, trustedUID: uid_t = geteuid()) throws(AdapterLoadError) -> LoadedAdapter {
        if let problem = PluginFileSecurity.problem(with: path, trustedUID: trustedUID) {
            throw .unsafeFile(path: path, reason: problem)
        }
        guard let identity = FileIdentity(path: path) else { throw .cannotOpen(path: path, reason: "cannot stat") }
        // RTLD_LOCAL keeps each plugin's symbols (and its copy of AdapterKit) to itself.
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw .cannotOpen(path: path, reason: dlerror().map { String(cString: $0) } ?? "unknown dlopen error")
        }
        guard let symbol = dlsym(handle, FINETUNED_ADAPTER_ENTRY_SYMBOL) else { throw .missingEntry(path: path) }
        let entry = unsafeBitCast(symbol, to: finetuned_adapter_entry_fn.self)
        guard let table = entry() else { throw .invalidTable(path: path, reason: "the entry point returned NULL") }
        let header = table.pointee
        guard Int(header.abi_major) == AdapterABI.major else {
            throw .abiMismatch(path: path, found: Int(header.abi_major), expected: AdapterABI.major)
        }
        guard Int(header.size) >= MemoryLayout<finetuned_adapter_v1>.size else {
            throw .invalidTable(
                path: path, reason: "table size \(header.size) is smaller than ABI \(AdapterABI.major).0's \(MemoryLayout<finetuned_adapter_v1>.size)"
            )
        }
        guard let describe = header.describe, header.build_invoke_request != nil,
            header.parse_invoke_response != nil, header.free_string != nil
        else { throw .invalidTable(path: path, reason: "a required function pointer is NULL") }
        guard let raw = describe() else { throw .invalidDescription(path: path, reason: "describe returned NULL") }
        let text = String(cString: raw)
        header.free_string?(raw)
        let description: AdapterDescription
        do {
            description = try AdapterDescription(json: try JSONValue(parsing: text))
        } catch let error as JSONParseError {
            throw .invalidDescription(path: path, reason: "not JSON: \(error)")
        } catch let error as DescriptionError {
            throw .invalidDescription(path: path, reason: error.description)
        } catch {
            throw .invalidDescription(path: path, reason: "\(error)")
        }
        return LoadedAdapter(path: path, description: description, fileIdentity: identity, table: table)
    }

    private init(path: String, description: AdapterDescription, fileIdentity: FileIdentity, table: UnsafePointer<finetuned_adapter_v1>) {
        self.path = path
        self.description = description
        self.fileIdentity = fileIdentity
        self.table = table
    }

    /// The InvokeModel request body for `prompt`, as bytes to send.
    public func buildInvokeRequest(_ request: InvokeRequest) throws(AdapterCallError) -> String {
        let answer = try call("build_invoke_request", table.pointee.build_invoke_request, request.json())
        guard let body = answer["body"], body.objectValue != nil else {
            throw failure("build_invoke_request", "the answer has no \"body\" object")
        }
        return body.serialized()
    }

    /// The text and metadata in an InvokeModel (or, with `api: .converse`, a Converse) response body.
    public func parseInvokeResponse(model: String, body: String, api: InvokeAPI = .invokeModel) throws(AdapterCallError) -> InvokeResult {
        var argument: [String: JSONValue] = ["model": .string(model), "body": .string(body)]
        if api != .invokeModel { argument["api"] = .string(api.rawValue) }
        let answer = try call("parse_invoke_response", table.pointee.parse_invoke_response, .object(argument))
        do {
            return try InvokeResult(json: answer)
        } catch {
            throw failure("parse_invoke_response", "invalid answer: \(error)")
        }
    }

    /// The plugin's own checks of one record; empty when it declares none.
    public func checkRecord(model: String, record: JSONValue) throws(AdapterCallError) -> [RecordProblem] {
        guard let function = table.pointee.check_record else { return [] }
        let answer = try call("check_record", function, ["model": .string(model), "record": record])
        do {
            return try RecordProblem.list(json: answer)
        } catch {
            throw failure("check_record", "invalid answer: \(error)")
        }
    }

    private func failure(_ function: String, _ message: String) -> AdapterCallError {
        AdapterCallError(adapter: name, function: function, message: message)
    }

    private func call(
        _ name: String, _ function: (@convention(c) (UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?)?,
        _ argument: JSONValue
    ) throws(AdapterCallError) -> JSONValue {
        guard let function else { throw failure(name, "the function is missing") }
        guard let raw = argument.serialized().withCString({ function($0) }) else {
            throw failure(name, "returned NULL")
        }
        let text = String(cString: raw)
        table.pointee.free_string?(raw)
        let answer: JSONValue
        do {
            answer = try JSONValue(parsing: text)
        } catch {
            throw failure(name, "returned invalid JSON (\(error))")
        }
        if let message = answer["error"]?.stringValue { throw failure(name, message) }
        guard answer.objectValue != nil else { throw failure(name, "returned \(answer.kindName), not an object") }
        return answer
    }
}

/// Device and inode of a file: what tells a rescan whether a path still holds the same file.
public struct FileIdentity: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64
    public var modified: Int

    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        modified = Int(st.st_mtim.tv_sec)
    }
}
