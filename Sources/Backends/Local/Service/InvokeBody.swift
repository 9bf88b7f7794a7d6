import FinetunedText
import Foundation

/// The local family's InvokeModel request (`{"document", "budget_words"}`, built by the
/// `local` adapter plugin) and its response (`{"summary", "selected", "input_words",
/// "output_words"}`, parsed by the same plugin).
struct InvokeBody: Sendable, Equatable {
    var document: String
    var budgetWords: Int?

    /// Decoded with `JSONDecoder`, which the daemon's store uses anyway, rather than
    /// `JSONSerialization`, whose code would stay resident in the daemon for this alone.
    init(json: String) throws(Failure) {
        struct Wire: Decodable {
            var document: String?
            var budget_words: Double?
        }
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: Data(json.utf8))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.first?.stringValue == "budget_words" {
            throw Failure(.training, "\"budget_words\" must be a positive integer")
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.first?.stringValue == "document" {
            throw Failure(.training, "the request body has no \"document\" string")
        } catch {
            throw Failure(.training, "the request body is not a JSON object")
        }
        guard let document = wire.document else { throw Failure(.training, "the request body has no \"document\" string") }
        self.document = document
        if let budget = wire.budget_words {
            guard budget >= 1, budget <= Double(Int32.max), budget.rounded() == budget else {
                throw Failure(.training, "\"budget_words\" must be a positive integer")
            }
            budgetWords = Int(budget)
        } else {
            budgetWords = nil
        }
    }
}

extension Summary {
    /// The response body. `JSONEncoder` sorts keys by code point; `JSONSerialization` would
    /// sort them with a locale, through ICU's collator, for keys that are plain ASCII.
    var json: String {
        struct Body: Encodable {
            var summary: String
            var selected: [Int]
            var input_words: Int
            var output_words: Int
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = Body(summary: text, selected: selected, input_words: inputWords, output_words: outputWords)
        // Strings and integers always encode.
        return String(decoding: try! encoder.encode(body), as: UTF8.self)
    }
}
