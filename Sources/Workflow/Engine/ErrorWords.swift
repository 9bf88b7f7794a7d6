import FinetunedText
import Foundation

/// An error as people read it in the journal, the store, a notification or `finetunectl`:
/// its own words, on one line. Every error type of ours says what happened through
/// `description`; Foundation's and the standard library's say it in other ways, and a value
/// without words of its own is never dumped (`Optional(...)`, `Module.Type.case(...)`).
public enum ErrorWords {
    public static func of(_ error: any Error) -> String {
        OneLine.of(raw(error), limit: 1_000)
    }

    static func raw(_ error: any Error) -> String {
        switch error {
        case is CancellationError:
            return "cancelled"
        case let error as DecodingError:
            return decoding(error)
        case let error as EncodingError:
            if case .invalidValue(_, let context) = error { return "a value cannot be encoded: \(context.debugDescription)" }
            return "a value cannot be encoded"
        case let error as POSIXError:
            return String(cString: strerror(error.code.rawValue))
        case let error as CocoaError:
            // "The operation could not be completed. The file doesn’t exist.": the second sentence.
            let text = error.localizedDescription
            return text.range(of: "completed. ").map { String(text[$0.upperBound...]) } ?? text
        case let error as any CustomStringConvertible:
            return error.description
        default:
            // A value without words of its own: its dump would name types, not what happened.
            return "an unexpected error"
        }
    }

    static func decoding(_ error: DecodingError) -> String {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): context = c
        @unknown default: return "the data is not in the expected shape"
        }
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return "the data is not in the expected shape" + (path.isEmpty ? "" : " at \(path)") + ": " + context.debugDescription
    }
}
