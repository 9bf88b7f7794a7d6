import FinetunedTestSupport
import Foundation
import Testing

@testable import FinetunedEvaluation

@Suite(
    "BERT tokenizer and weights",
    .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
struct TokenizerTests {
    static func tokenizer() throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabularyFile: SharedTestData.modelDirectory.appendingPathComponent("vocab.txt").path)
    }

    @Test(
        "token ids match the bert-score package's for every pair of the reference file",
        .enabled(if: SharedTestData.hasBertScoreReference, "../shared/testdata/bertscore/reference.json is absent"))
    func referenceIDs() throws {
        let tokenizer = try Self.tokenizer()
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: SharedTestData.bertScoreReference)) as! [String: Any]
        let pairs = Dictionary(uniqueKeysWithValues: (reference["pairs"] as! [[String: Any]]).map { ($0["id"] as! String, $0) })
        let tokenization = reference["tokenization"] as! [[String: Any]]
        #expect(tokenization.count == 12)
        for entry in tokenization {
            let id = entry["id"] as! String
            let pair = try #require(pairs[id])
            for side in ["candidate", "reference"] {
                let expected = ((entry[side] as! [String: Any])["ids"] as! [Int]).map(Int32.init)
                let text = pair[side] as! String
                #expect(tokenizer.encode(text) == expected, "\(id) \(side): \(text)")
            }
        }
        let probe = reference["forward_probe"] as! [String: Any]
        #expect(tokenizer.encode(probe["text"] as! String) == (probe["ids"] as! [Int]).map(Int32.init))
    }

    @Test("basic tokenization: accents stripped, punctuation and CJK split, long words unknown, control characters dropped")
    func basicCases() throws {
        let tokenizer = try Self.tokenizer()
        #expect(WordPieceTokenizer.basicTokens("Héllo, Wörld!\u{0}\u{200B}") == ["hello", ",", "world", "!"])
        #expect(WordPieceTokenizer.basicTokens("会议纪要：ok") == ["会", "议", "纪", "要", "：", "ok"])
        #expect(WordPieceTokenizer.basicTokens("a\tb\nc\u{00A0}d") == ["a", "b", "c", "d"])
        let long = String(repeating: "a", count: 101)
        #expect(tokenizer.encode(long) == [tokenizer.classifierID, tokenizer.unknownID, tokenizer.separatorID])
        #expect(tokenizer.encode("") == [tokenizer.classifierID, tokenizer.separatorID])
        let many = tokenizer.encode(String(repeating: "word ", count: 1000))
        #expect(many.count == 512 && many.first == tokenizer.classifierID && many.last == tokenizer.separatorID)
        #expect(tokenizer.vocabularySize == 30522)
    }

    @Test("the weights load in place with the shapes config.json describes")
    func weights() throws {
        let model = try SafeTensors(path: SharedTestData.modelDirectory.appendingPathComponent("model.safetensors").path)
        let embeddings = try model.float32("embeddings.word_embeddings.weight", shape: [30522, 384])
        #expect(embeddings.count == 30522 * 384)
        #expect(try model.float32("encoder.layer.5.intermediate.dense.weight", shape: [1536, 384]).count == 1536 * 384)
        #expect(throws: SafeTensorsError.self) { try model.float32("encoder.layer.6.output.dense.weight", shape: [384, 1536]) }
        #expect(throws: SafeTensorsError.wrongTensor("embeddings.LayerNorm.bias", "shape [384], expected [385]")) {
            try model.float32("embeddings.LayerNorm.bias", shape: [385])
        }
        #expect(model.tensors.filter { $0.key.hasPrefix("encoder.layer.") }.count == 6 * 16)
    }
}

@Suite(
    "BERT encoder",
    .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
    .enabled(if: SharedTestData.hasBertScoreReference, "../shared/testdata/bertscore/reference.json is absent"))
struct EncoderTests {
    @Test("hidden states after each layer match the reference forward pass to 1e-4")
    func forwardProbe() throws {
        let encoder = try BERTEncoder(modelFile: SharedTestData.modelDirectory.appendingPathComponent("model.safetensors").path)
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: SharedTestData.bertScoreReference)) as! [String: Any]
        let probe = reference["forward_probe"] as! [String: Any]
        let ids = (probe["ids"] as! [Int]).map(Int32.init)
        let expected = probe["hidden_states_first8"] as! [String: [[Double]]]
        let norms = probe["hidden_states_l2norm"] as? [String: [Double]]
        for layer in 0...6 {
            let states = try encoder.hiddenStates(ids: ids, layers: layer)
            let rows = try #require(expected[String(layer)])
            #expect(rows.count == ids.count && rows.allSatisfy { $0.count == 8 })
            var worst: Float = 0
            for (t, row) in rows.enumerated() {
                for (d, value) in row.enumerated() { worst = max(worst, abs(states[t * 384 + d] - Float(value))) }
                let layerNorms: [Double] = norms?[String(layer)] ?? []
                if t < layerNorms.count {
                    let norm: Double = layerNorms[t]
                    var squares: Float = 0
                    for d in 0..<384 { squares += states[t * 384 + d] * states[t * 384 + d] }
                    let ours = squares.squareRoot()
                    let tolerance: Float = 1e-3 * max(1, Float(norm))
                    #expect(abs(ours - Float(norm)) < tolerance, "layer \(layer) token \(t) norm \(ours) vs \(norm)")
                }
            }
            #expect(worst < 1e-4, "layer \(layer): largest difference \(worst)")
        }
    }
}

@Suite(
    "BERTScore against the bert-score package",
    .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
    .enabled(if: SharedTestData.hasBertScoreReference, "../shared/testdata/bertscore/reference.json is absent"))
struct BERTScoreAgreementTests {
    @Test("P, R and F1 per pair at layers 6 and 4 within 1e-4 (5e-4 where the package's padding clips)")
    func agreement() throws {
        let encoder = try BERTEncoder(modelFile: SharedTestData.modelDirectory.appendingPathComponent("model.safetensors").path)
        let tokenizer = try WordPieceTokenizer(vocabularyFile: SharedTestData.modelDirectory.appendingPathComponent("vocab.txt").path)
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: SharedTestData.bertScoreReference)) as! [String: Any]
        let pairs = Dictionary(uniqueKeysWithValues: (reference["pairs"] as! [[String: Any]]).map { ($0["id"] as! String, $0) })
        let runs = reference["runs"] as! [[String: Any]]
        #expect(runs.count == 2)
        for run in runs {
            let layer = run["num_layers"] as! Int
            let clipped = Set(run["pairs_affected_by_padding_zero_clip"] as! [String])
            let scorer = BERTScorer(encoder: encoder, tokenizer: tokenizer, layer: layer)
            for result in run["results"] as! [[String: Any]] {
                let id = result["id"] as! String
                let pair = try #require(pairs[id])
                let score = scorer.score(try scorer.embed(pair["candidate"] as! String), try scorer.embed(pair["reference"] as! String))
                let tolerance: Float = clipped.contains(id) ? 5e-4 : 1e-4
                for (name, ours, theirs) in [
                    ("P", score.precision, result["P"] as! Double), ("R", score.recall, result["R"] as! Double),
                    ("F1", score.f1, result["F1"] as! Double),
                ] {
                    #expect(abs(ours - Float(theirs)) <= tolerance, "layer \(layer) \(id) \(name): \(ours) vs \(theirs)")
                }
            }
        }
    }
}

@Suite("idf weights")
struct IDFTests {
    // The reference file's idf_from_refs values come from 30 references of which it lists 12,
    // so the formula is checked on a set whose document frequencies are known.
    @Test("idf is ln((M+1)/(df+1)) over the references, ln(M+1) for unseen tokens")
    func formula() {
        let idf = IDFWeights(references: [[101, 7, 8, 102], [101, 7, 9, 102], [101, 7, 7, 102]])
        #expect(abs(idf.weights[7]! - logf(4.0 / 4.0)) < 1e-6)
        #expect(abs(idf.weights[8]! - logf(4.0 / 2.0)) < 1e-6)
        #expect(abs(idf.unseen - logf(4.0)) < 1e-6)
        // The reference file's unseen weight is ln(31): 30 references.
        #expect(abs(IDFWeights(references: Array(repeating: [1], count: 30)).unseen - 3.4339872) < 1e-6)
    }
}
