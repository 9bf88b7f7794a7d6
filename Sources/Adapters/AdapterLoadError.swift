/// Why a plugin was refused. Each case says what to do about it.
public enum AdapterLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsafeFile(path: String, reason: String)
    case cannotOpen(path: String, reason: String)
    case missingEntry(path: String)
    case abiMismatch(path: String, found: Int, expected: Int)
    case invalidTable(path: String, reason: String)
    case invalidDescription(path: String, reason: String)
    case duplicateName(path: String, name: String, loadedFrom: String)

    public var path: String {
        switch self {
        case .unsafeFile(let p, _), .cannotOpen(let p, _), .missingEntry(let p), .abiMismatch(let p, _, _),
            .invalidTable(let p, _), .invalidDescription(let p, _), .duplicateName(let p, _, _):
            p
        }
    }

    public var description: String {
        switch self {
        case .unsafeFile(let path, let reason):
            "refusing adapter \(path): \(reason); make it and its directories owned by root and writable only by their owner"
        case .cannotOpen(let path, let reason):
            "cannot load adapter \(path): \(reason)"
        case .missingEntry(let path):
            "refusing adapter \(path): it does not export finetuned_adapter_entry (is it built against plugins/abi/include/finetuned_adapter.h?)"
        case .abiMismatch(let path, let found, let expected):
            "refusing adapter \(path): it was built for adapter ABI \(found), this daemon speaks ABI \(expected); rebuild it against this daemon's finetuned_adapter.h"
        case .invalidTable(let path, let reason):
            "refusing adapter \(path): its function table is invalid: \(reason)"
        case .invalidDescription(let path, let reason):
            "refusing adapter \(path): its description is invalid: \(reason)"
        case .duplicateName(let path, let name, let first):
            "refusing adapter \(path): the name '\(name)' is already taken by \(first)"
        }
    }
}

/// A plugin's answer that breaks the ABI's contract, named after the plugin.
public struct AdapterCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public var adapter: String
    public var function: String
    public var message: String

    public var description: String { "adapter '\(adapter)' \(function): \(message)" }
}
