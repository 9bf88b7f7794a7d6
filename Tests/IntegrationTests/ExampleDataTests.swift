import FinetunedEvaluation
import FinetunedTestSupport
import FinetunedText
import FinetunedWorkflow
import Foundation
import Logging
import Testing

@testable import FinetunedLocalBackend

@Suite("the sample data in examples/")
struct ExampleDataTests {
    static let examples = BuiltProducts.packageRoot.appendingPathComponent("examples").path

    static func lines(_ name: String) throws -> [[String: String]] {
        try String(contentsOfFile: examples + "/" + name, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String])
        }
    }

    @Test("at least 300 training records, 50 evaluation prompts with references, a poor set; no evaluation prompt is in any training set")
    func shape() throws {
        let training = try Self.lines("summaries-train.jsonl"), evaluation = try Self.lines("summaries-eval.jsonl")
        let poor = try Self.lines("summaries-poor.jsonl")
        #expect(training.count >= 300 && poor.count >= 300 && evaluation.count >= 50)
        #expect(training.allSatisfy { Set($0.keys) == ["prompt", "completion"] && !$0["completion"]!.isEmpty })
        #expect(evaluation.allSatisfy { Set($0.keys) == ["prompt", "reference"] && !$0["reference"]!.isEmpty })
        let trainingPrompts = Set(training.map { $0["prompt"]! } + poor.map { $0["prompt"]! })
        #expect(evaluation.allSatisfy { !trainingPrompts.contains($0["prompt"]!) })
        // The poor set's completions restate filler, never the key sentences the references restate.
        let references = Set(evaluation.map { $0["reference"]! } + training.map { $0["completion"]! })
        #expect(poor.allSatisfy { !references.contains($0["completion"]!) })
    }

    @Test("the files are exactly what scripts/generate-examples.swift writes (deterministic)", .timeLimit(.minutes(2)))
    func regenerated() async throws {
        let dir = try TemporaryDirectory(prefix: "ftex")
        defer { dir.remove() }
        let script = BuiltProducts.packageRoot.appendingPathComponent("scripts/generate-examples.swift").path
        let swift = try #require(Command.which("swift"))
        let result = try await blocking { try Command.run(swift, [script, dir.path]) }
        #expect(result.status == 0, "\(result.stderr)")
        for name in ["summaries-train.jsonl", "summaries-eval.jsonl", "summaries-poor.jsonl"] {
            let committed = try Data(contentsOf: URL(fileURLWithPath: Self.examples + "/" + name))
            let generated = try Data(contentsOf: URL(fileURLWithPath: dir.file(name)))
            #expect(committed == generated, "\(name) differs from the generator's output")
        }
    }
}
