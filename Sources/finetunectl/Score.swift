import ArgumentParser
import FinetunedConfig
import FinetunedEvaluation
import Foundation

/// BERTScore of two files, pair by pair, with the same code the daemon runs.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score candidate texts against reference texts with BERTScore (all-MiniLM-L6-v2), pair by pair.",
        discussion: "Each file holds one text per line, or JSONL with a \"text\" field. Exit codes: 0 scored, 2 usage error.")

    @Argument(help: "The candidates.") var candidates: String
    @Argument(help: "The references, as many lines as candidates.") var references: String
    @Option(name: .long, help: "The encoder layer whose hidden states are compared.") var layer: Int = 6
    @Flag(name: .long, help: "Weight tokens by their idf in the references.") var idf = false
    @Option(name: .long, help: "The model directory (model.safetensors, vocab.txt).")
    var model: String = ProcessInfo.processInfo.environment["FINETUNED_MODEL_DIR"] ?? "/usr/share/finetuned/models/all-MiniLM-L6-v2"
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    struct Output: Codable {
        struct Pair: Codable {
            var index: Int
            var precision: Float
            var recall: Float
            var f1: Float
            var warning: String?
        }
        var pairs: [Pair]
        var meanPrecision: Float
        var meanRecall: Float
        var meanF1: Float
        var layer: Int
        var idf: Bool
    }

    func validate() throws {
        guard (1...6).contains(layer) else { throw ValidationError("--layer is 1 to 6 for all-MiniLM-L6-v2") }
    }

    func run() throws {
        let candidateTexts = try Self.texts(candidates)
        let referenceTexts = try Self.texts(references)
        guard candidateTexts.count == referenceTexts.count else {
            throw Validate.Failure("\(candidates) has \(candidateTexts.count) texts but \(references) has \(referenceTexts.count)")
        }
        let encoder: BERTEncoder, tokenizer: WordPieceTokenizer
        do {
            encoder = try BERTEncoder(modelFile: model + "/model.safetensors")
            tokenizer = try WordPieceTokenizer(vocabularyFile: model + "/vocab.txt")
        } catch {
            throw Validate.Failure("cannot load the model from \(model): \(error) (scripts/fetch-model fetches it; --model names it)")
        }
        let scorer = BERTScorer(encoder: encoder, tokenizer: tokenizer, layer: layer)
        let weights = idf ? IDFWeights(references: referenceTexts.map { tokenizer.encode($0) }) : nil
        var pairs: [Output.Pair] = []
        let candidateEmbeddings = try scorer.embed(candidateTexts), referenceEmbeddings = try scorer.embed(referenceTexts)
        for (index, (candidate, reference)) in zip(candidateTexts, referenceTexts).enumerated() {
            let score = scorer.score(candidateEmbeddings[index], referenceEmbeddings[index], idf: weights)
            let empty = candidate.trimmingCharacters(in: .whitespaces).isEmpty || reference.trimmingCharacters(in: .whitespaces).isEmpty
            pairs.append(
                .init(
                    index: index + 1, precision: score.precision, recall: score.recall, f1: score.f1,
                    warning: empty ? "empty \(candidate.trimmingCharacters(in: .whitespaces).isEmpty ? "candidate" : "reference"): scored 0" : nil))
        }
        let count = Float(max(pairs.count, 1))
        let output = Output(
            pairs: pairs, meanPrecision: pairs.map(\.precision).reduce(0, +) / count,
            meanRecall: pairs.map(\.recall).reduce(0, +) / count, meanF1: pairs.map(\.f1).reduce(0, +) / count,
            layer: layer, idf: idf)
        if json { return try printJSON(output) }
        print(pad("PAIR", 6) + pad("P", 9) + pad("R", 9) + "F1")
        for p in pairs {
            print(
                pad(String(p.index), 6) + pad(String(format: "%.4f", p.precision), 9) + pad(String(format: "%.4f", p.recall), 9)
                    + String(format: "%.4f", p.f1) + (p.warning.map { "  (\($0))" } ?? ""))
        }
        print(
            pad("mean", 6) + pad(String(format: "%.4f", output.meanPrecision), 9) + pad(String(format: "%.4f", output.meanRecall), 9)
                + String(format: "%.4f", output.meanF1))
    }

    /// One text per line, or a JSONL line's "text" field.
    static func texts(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Validate.Failure("cannot read \(path)") }
        let content = String(decoding: data, as: UTF8.self)
        var lines = content.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines.map { line in
            if line.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let text = object["text"] as? String
            {
                return text
            }
            return line.hasSuffix("\r") ? String(line.dropLast()) : line
        }
    }
}
