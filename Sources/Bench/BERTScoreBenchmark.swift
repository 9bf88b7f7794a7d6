import FinetunedEvaluation
import FinetunedTestSupport
import Foundation

/// BERTScore for two models' answers against the same references (the decision's workload),
/// ours against the `bert-score` Python package (torch CPU, same model files, same layer),
/// each as a whole process from start to printed scores, plus the time per pair once loaded.
enum BERTScoreBenchmark {
    static let pairs = 200

    /// The bench's own child: loads the model, scores both candidate files against the
    /// references (embedded once), prints the means and how long the scoring took.
    static func child(model: String, base: String, custom: String, references: String) throws {
        let encoder = try BERTEncoder(modelFile: model + "/model.safetensors")
        let tokenizer = try WordPieceTokenizer(vocabularyFile: model + "/vocab.txt")
        let scorer = BERTScorer(encoder: encoder, tokenizer: tokenizer, layer: 6)
        func lines(_ path: String) throws -> [String] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
        let (b, c, r) = (try lines(base), try lines(custom), try lines(references))
        let clock = ContinuousClock()
        var means = (0.0, 0.0)
        let elapsed = try clock.measure {
            let refs = try scorer.embed(r)
            let bs = try scorer.embed(b), cs = try scorer.embed(c)
            for i in r.indices {
                means.0 += Double(scorer.score(bs[i], refs[i]).f1)
                means.1 += Double(scorer.score(cs[i], refs[i]).f1)
            }
        }
        print(String(format: "%.6f %.6f %.6f", means.0 / Double(r.count), means.1 / Double(r.count), elapsed.seconds))
    }

    static let python = """
        import sys, time
        from bert_score import score
        model, base, custom, refs = sys.argv[1:5]
        read = lambda p: open(p).read().split("\\n")[:-1]
        b, c, r = read(base), read(custom), read(refs)
        t = time.perf_counter()
        _, _, fb = score(b, r, model_type=model, num_layers=6, batch_size=64)
        _, _, fc = score(c, r, model_type=model, num_layers=6, batch_size=64)
        print("%.6f %.6f %.6f" % (fb.mean().item(), fc.mean().item(), time.perf_counter() - t))
        """

    static func run(model: String, examples: String) throws {
        print("BERTScore, \(pairs) pairs for two models against the same references (layer 6), whole process:")
        let dir = try TemporaryDirectory(prefix: "ftbs")
        defer { dir.remove() }
        // Answers shaped like the workflow's: two extracts of each document against its summary.
        var base: [String] = [], custom: [String] = [], references: [String] = []
        for line in try String(contentsOfFile: examples + "/summaries-train.jsonl", encoding: .utf8).split(separator: "\n").prefix(pairs) {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                let prompt = object["prompt"], let completion = object["completion"]
            else { continue }
            let sentences = prompt.components(separatedBy: ". ")
            base.append(sentences.prefix(2).joined(separator: ". ") + ".")
            custom.append(sentences.dropFirst(2).prefix(2).joined(separator: ". ") + ".")
            references.append(completion)
        }
        let files = try [("base.txt", base), ("custom.txt", custom), ("refs.txt", references)].map { name, texts in
            try dir.write(name, texts.joined(separator: "\n") + "\n")
        }
        var output = ""
        let ours = try ProcessMeasurement.run(CommandLine.arguments[0], ["bertscore-child", model] + files, stdout: &output)
        guard ours.status == 0 else { return print("  finetuned: failed (exit \(ours.status)): \(output)") }
        let mine = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        print(
            String(
                format: "  finetuned:   %6.2f s, peak RSS %6.1f MiB; once loaded %5.2f s (%4.0f pairs/s); mean F1 base %.4f, custom %.4f",
                ours.seconds, ours.peakRSSMegabytes, mine[2], Double(2 * pairs) / mine[2], mine[0], mine[1]))

        let python = "python3"
        guard let interpreter = python.hasPrefix("/") ? python : Command.which(python),
            (try? Command.run(interpreter, ["-c", "import bert_score, torch"]).status) == 0
        else {
            return print("  bert-score:  not measured (bert_score and torch are not importable by \(python); scripts/bench installs them)")
        }
        var theirOutput = ""
        let theirs = try ProcessMeasurement.run(interpreter, ["-c", Self.python, model] + files, stdout: &theirOutput)
        let peer = theirOutput.split(separator: "\n").last.map { $0.split(separator: " ").compactMap { Double($0) } } ?? []
        guard theirs.status == 0, peer.count == 3 else { return print("  bert-score:  failed (exit \(theirs.status)): \(theirOutput.suffix(400))") }
        print(
            String(
                format: "  bert-score:  %6.2f s, peak RSS %6.1f MiB; once loaded %5.2f s (%4.0f pairs/s); mean F1 base %.4f, custom %.4f",
                theirs.seconds, theirs.peakRSSMegabytes, peer[2], Double(2 * pairs) / peer[2], peer[0], peer[1]))
        print(
            String(
                format:
                    "  finetuned is %.1fx as fast end to end and %.1fx per pair once loaded, in %.0f%% of the memory; means agree within %.0e (goal: 2x, 1x, under 300 MiB)",
                theirs.seconds / ours.seconds, peer[2] / mine[2], 100 * ours.peakRSSMegabytes / theirs.peakRSSMegabytes,
                max(abs(peer[0] - mine[0]), abs(peer[1] - mine[1]))))
    }
}
