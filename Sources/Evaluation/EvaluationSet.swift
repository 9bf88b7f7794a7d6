import Foundation

/// One held-out prompt and the answer it should get.
public struct EvaluationItem: Sendable, Equatable {
    public var line: Int
    public var prompt: String
    public var reference: String
}

/// The evaluation set a profile names: JSONL with `prompt` and `reference` per line.
public enum EvaluationSet {
    public struct LoadError: Error, CustomStringConvertible, Equatable {
        public var problems: [String]
        public init(problems: [String]) { self.problems = problems }
        public var description: String { problems.joined(separator: "\n") }
    }

    public static func load(path: String) throws(LoadError) -> [EvaluationItem] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(problems: ["\(path): cannot read the evaluation set"])
        }
        let name = (path as NSString).lastPathComponent
        var items: [EvaluationItem] = [], problems: [String] = []
        for (index, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                problems.append("\(name):\(index + 1): not a JSON object")
                continue
            }
            guard let prompt = object["prompt"] as? String, let reference = object["reference"] as? String else {
                problems.append("\(name):\(index + 1): needs string fields \"prompt\" and \"reference\"")
                continue
            }
            items.append(EvaluationItem(line: index + 1, prompt: prompt, reference: reference))
        }
        if items.isEmpty && problems.isEmpty { problems.append("\(name): the evaluation set is empty") }
        guard problems.isEmpty else { throw LoadError(problems: problems) }
        return items
    }
}

/// Finds evaluation prompts that also appear in the training data, exactly or after
/// folding case and whitespace: a model scored on what it was trained on proves nothing,
/// so such prompts are left out of the decision and reported as leakage.
public struct LeakageCheck: Sendable {
    public enum Leak: String, Sendable, Equatable, Codable { case exact, normalized }

    private let exact: Set<String>
    private let normalized: Set<String>

    public init(trainingPrompts: some Sequence<String>) {
        var exact = Set<String>(), normalized = Set<String>()
        for prompt in trainingPrompts {
            exact.insert(prompt)
            normalized.insert(Self.normalize(prompt))
        }
        self.exact = exact
        self.normalized = normalized
    }

    public func leak(_ prompt: String) -> Leak? {
        if exact.contains(prompt) { return .exact }
        if normalized.contains(Self.normalize(prompt)) { return .normalized }
        return nil
    }

    /// Lower case, runs of whitespace folded to one space, trimmed.
    public static func normalize(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// The prompts of a training file: `prompt` fields, or for conversation records the
    /// system and user turns joined.
    public static func trainingPrompts(jsonl path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var prompts: [String] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let prompt = object["prompt"] as? String {
                prompts.append(prompt)
            } else if let messages = object["messages"] as? [[String: Any]] {
                let texts = messages.filter { $0["role"] as? String == "user" }
                    .flatMap { ($0["content"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String } }
                prompts.append(contentsOf: texts)
            }
        }
        return prompts
    }
}
