import Foundation

/// The local family's InvokeModel request (`{"document", "budget_words"}`, built by the
/// `local` adapter plugin) and its response (`{"summary", "selected", "input_words",
/// "output_words"}`, parsed by the same plugin).
struct InvokeBody: Sendable, Equatable {
    var document: String
    var budgetWords: Int?

    init(json: String) throws(TrainingError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw TrainingError("the request body is not a JSON object")
        }
        guard let document = object["document"] as? String else { throw TrainingError("the request body has no \"document\" string") }
        self.document = document
        switch object["budget_words"] {
        case nil, is NSNull: budgetWords = nil
        case let number as NSNumber where number.intValue >= 1 && Double(number.intValue) == number.doubleValue:
            budgetWords = number.intValue
        default:
            throw TrainingError("\"budget_words\" must be a positive integer")
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
