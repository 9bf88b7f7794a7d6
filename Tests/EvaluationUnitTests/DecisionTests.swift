import FinetunedEvaluation
import FinetunedTestSupport
import Foundation
import Testing

@Suite("Keep-or-delete decision")
struct DecisionTests {
    @Test("a clear, consistent improvement is kept, with a confidence interval above zero")
    func clearWin() {
        let base = (0..<30).map { 0.60 + Double($0 % 5) * 0.01 }
        let custom = base.map { $0 + 0.05 }
        let d = DecisionRule().decide(base: base, custom: custom)
        #expect(d.verdict == .keep)
        #expect(abs(d.meanDelta - 0.05) < 1e-9)
        #expect(d.winShare == 1 && d.confidenceLow > 0.049 && d.confidenceHigh < 0.051)
        #expect(d.wins == 30 && d.ties == 0 && d.losses == 0)
    }

    @Test("a small mean gain made of noise is rejected as within the noise")
    func noise() {
        // Alternating +0.05 / -0.045: mean +0.0025 but the sign flips prompt to prompt.
        let base = Array(repeating: 0.7, count: 24)
        let custom = (0..<24).map { $0 % 2 == 0 ? 0.75 : 0.655 }
        let d = DecisionRule().decide(base: base, custom: custom)
        #expect(d.meanDelta > 0)
        #expect(d.verdict == .reject)
        #expect(d.reason.contains("within the noise"), "\(d.reason)")
        #expect(d.winShare < 0.95 && d.confidenceLow < 0 && d.confidenceHigh > 0)
    }

    @Test("worse is rejected; a required improvement is enforced; too few prompts is inconclusive")
    func rules() {
        let base = Array(repeating: 0.7, count: 25)
        #expect(DecisionRule().decide(base: base, custom: base.map { $0 - 0.02 }).verdict == .reject)
        let small = DecisionRule(minImprovement: 0.05).decide(base: base, custom: base.map { $0 + 0.02 })
        #expect(small.verdict == .reject && small.reason.contains("below the required improvement of 0.05"))
        let few = DecisionRule().decide(base: Array(base.prefix(11)), custom: base.prefix(11).map { $0 + 0.2 })
        #expect(few.verdict == .inconclusive)
        #expect(few.reason == "only 11 usable prompts, fewer than the 20 a decision needs; nothing is kept")
    }

    @Test("the same inputs give the same decision on every run")
    func deterministic() {
        let base = (0..<40).map { 0.5 + Double(($0 * 7) % 13) / 100 }
        let custom = (0..<40).map { 0.5 + Double(($0 * 5) % 11) / 100 }
        #expect(DecisionRule().decide(base: base, custom: custom) == DecisionRule().decide(base: base, custom: custom))
    }
}

@Suite("Evaluation set and leakage")
struct LeakageTests {
    @Test("evaluation prompts found in the training data, exactly or up to case and spacing, are leaks")
    func leaks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let training = try dir.write(
            "train.jsonl",
            """
            {"prompt":"Summarize the Q3 report.","completion":"x"}
            {"schemaVersion":"bedrock-conversation-2024","messages":[{"role":"user","content":[{"text":"What broke on Friday?"}]},{"role":"assistant","content":[{"text":"Export."}]}]}

            """)
        let check = LeakageCheck(trainingPrompts: LeakageCheck.trainingPrompts(jsonl: training))
        #expect(check.leak("Summarize the Q3 report.") == .exact)
        #expect(check.leak("  summarize   the q3\nreport. ") == .normalized)
        #expect(check.leak("what broke on friday?") == .normalized)
        #expect(check.leak("Summarize the Q4 report.") == nil)
    }

    @Test("the evaluation set is JSONL with prompt and reference; problems are listed with lines")
    func evaluationSet() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let good = try dir.write("eval.jsonl", "{\"prompt\":\"p\",\"reference\":\"r\"}\n\n{\"prompt\":\"p2\",\"reference\":\"r2\"}\n")
        #expect(try EvaluationSet.load(path: good).map(\.line) == [1, 3])
        let bad = try dir.write("bad.jsonl", "{\"prompt\":\"p\"}\nnot json\n")
        #expect(
            throws: EvaluationSet.LoadError(problems: [
                "bad.jsonl:1: needs string fields \"prompt\" and \"reference\"", "bad.jsonl:2: not a JSON object",
            ])
        ) { try EvaluationSet.load(path: bad) }
    }
}
