import FinetunedEvaluation
import FinetunedTestSupport
import Foundation
import Testing

@Suite("finetunectl score", .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
struct ScoreCommandTests {
    @Test("scores files pair by pair (plain lines or JSONL), warns on empty texts, and refuses mismatched files")
    func score() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let candidates = try dir.write("c.txt", "The cat sat on the mat.\n{\"text\":\"\"}\n")
        let references = try dir.write("r.jsonl", "{\"text\":\"A cat was sitting on the rug.\"}\nAnything.\n")
        let ctl = BuiltProducts.executable("finetunectl")
        // The model loads in the child for seconds: off the cooperative pool, which has two threads here.
        let result = try await blocking {
            try Command.run(ctl, ["score", candidates, references, "--model", SharedTestData.modelDirectory.path, "--json"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let pairs = object["pairs"] as! [[String: Any]]
        // The bert-score package gives 0.7457678 / 0.7305175 / 0.7380639 for this pair (reference p04).
        #expect(abs((pairs[0]["f1"] as! Double) - 0.7380639) < 1e-4)
        #expect(pairs[1]["warning"] as? String == "empty candidate: scored 0")
        let mismatch = try dir.write("short.txt", "one\n")
        let mismatched = try await blocking { try Command.run(ctl, ["score", mismatch, references, "--model", SharedTestData.modelDirectory.path]) }
        #expect(mismatched.status == 2)
        let noModel = try await blocking { try Command.run(ctl, ["score", candidates, references, "--model", "/nonexistent"]) }
        #expect(noModel.status == 2)
    }
}
