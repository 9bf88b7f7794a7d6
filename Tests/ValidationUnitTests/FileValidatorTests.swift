import AdapterKit
import FinetunedAdapters
import FinetunedTestSupport
import FinetunedValidation
import Foundation
import Synchronization
import Testing

@Suite("File validator")
struct FileValidatorTests {
    func write(_ text: String, in dir: TemporaryDirectory, name: String = "q3.jsonl") throws -> String {
        try dir.write(name, text)
    }

    func record(_ i: Int, prompt: Int = 60, completion: Int = 12) -> String {
        #"{"prompt":"\#(i) \#(String(repeating: "p", count: prompt))","completion":"\#(String(repeating: "c", count: completion))"}"#
    }

    @Test("the summary counts records and tokens, finds the largest record, estimates cost, and lists problems by frequency")
    func summary() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let model = ModelDescription(
            id: "m", displayName: "m", inferenceID: "m", record: .promptCompletion,
            limits: DataLimits(maxInputTokens: 100, minTrainingRecords: 1),
            hyperparameters: [], prices: Prices(asOf: "2026-11-01", trainingPerThousandTokens: 1, throughputPerModelUnitHour: 20))
        var text = (1...9).map { record($0) + "\n" }.joined()
        text += record(10, prompt: 700) + "\n"  // 703 characters, 118 input tokens: over the limit
        text += record(11, prompt: 580) + "\n"  // 583 characters, 98 input tokens
        text += #"{"prompt":"x","completion":""}"# + "\n"
        text += #"{"prompt":"y","completion":""}"# + "\n"
        text += record(1) + "\n"  // duplicate of line 1
        let path = try write(text, in: dir)
        let report = FileValidator(plan: ValidationPlan(model: model, batchSize: 1, epochs: 3)).validate(path: path)
        #expect(report.records == 14 && report.lines == 14)
        #expect(report.errorCount == 3 && report.warningCount == 1)
        #expect(report.duplicateRecords == 1)
        #expect(report.largestRecord == RecordSize(line: 10, inputTokens: 118, outputTokens: 2, totalTokens: 120))
        #expect(report.problemCounts.map(\.kind) == [.emptyText, .inputTooLong, .duplicateRecord])
        #expect(report.problemCounts.map(\.count) == [2, 1, 1])
        // Records whose structure is valid, rounded up per field: 10 × (11 + 2), 118 + 2 and 98 + 2.
        #expect(report.estimatedInputTokens == 10 * 11 + 118 + 98)
        #expect(report.estimatedOutputTokens == 12 * 2)
        #expect(report.estimatedTrainingTokens == 350 * 3)
        #expect(
            report.estimatedCost
                == CostEstimate(
                    currency: "USD", pricesAsOf: "2026-11-01", training: 1.05,
                    storagePerMonth: nil, throughputPerModelUnitHour: 20))
        let lines = report.text().split(separator: "\n").map(String.init)
        #expect(lines[0] == "q3.jsonl: REJECTED: 3 errors, 1 warning (training file for m)")
        #expect(lines.contains("  largest record:   line 10, 120 tokens (118 input, 2 output)"))
        #expect(lines.contains("  estimated tokens: 326 input + 24 output per epoch; 1,050 for 3 epochs"))
        #expect(
            lines.contains {
                $0.hasPrefix(
                    "  estimated cost:   training 1.05 USD; no-commitment throughput 20.00 USD per model unit per hour; custom model storage unknown per month"
                )
            })
        #expect(lines.contains("        2  error    empty text"))
        #expect(
            lines.contains("q3.jsonl:10: error: estimated input tokens 118 exceed the limit of 100 for m (703 characters at 6 characters per token)"))
        #expect(lines.contains("q3.jsonl:12:28: error: field \"completion\" is empty"))
        #expect(lines.contains("q3.jsonl:14: warning: exact duplicate of an earlier record"))
    }

    @Test("problems beyond the cap are counted, not listed")
    func cap() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try write(String(repeating: "not json\n", count: 1500), in: dir)
        let report = FileValidator(plan: ValidationPlan(model: ValidationCorpus.fieldsModel)).validate(path: path)
        #expect(report.problems.count == 1000)
        #expect(report.omittedProblems == 501)
        #expect(report.errorCount == 1501)
        #expect(report.text().contains("… and 501 more (1,501 problems in all)"))
    }

    @Test("titan's token limit follows the batch size")
    func titanBatch() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let titan = try LoadedAdapter.load(path: BuiltProducts.adapterLibrary("titan"))
        let lite = try #require(titan.description.model("amazon.titan-text-lite-v1:0:4k"))
        let path = try write(record(1, prompt: 3000 * 6, completion: 10) + "\n", in: dir)
        let small = FileValidator(plan: ValidationPlan(model: lite, batchSize: 2)).validate(path: path)
        #expect(small.isValid, "\(small.text())")
        let large = FileValidator(plan: ValidationPlan(model: lite, batchSize: 8)).validate(path: path)
        #expect(
            large.problems.map(\.message) == [
                "estimated input + output tokens 3002 exceed the limit of 2048 for amazon.titan-text-lite-v1:0:4k at batch size 8 (18012 characters at 6 characters per token)"
            ])
    }

    @Test("the adapter's own record check runs on every valid record")
    func adapterHook() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try CAdapterBuilder.build(into: dir.file("adapters"))
        let set = await AdapterLoader().scan(directories: [dir.file("adapters")])
        let example = try #require(set.adapters["example"])
        let model = try #require(example.description.model("example.text-v1:0"))
        let text = (1...10).map { #"{"prompt":"p\#($0)","completion":"c"}"# + "\n" }.joined() + #"{"prompt":"lorem ipsum","completion":"c"}"# + "\n"
        let path = try write(text, in: dir)
        let validator = FileValidator(plan: ValidationPlan(model: model)) { record in
            (try? example.checkRecord(model: model.id, record: record)) ?? [RecordProblem(.error, "the adapter failed")]
        }
        let report = validator.validate(path: path)
        #expect(report.problems == [ValidationProblem(.warning, .adapterCheck, line: 11, "the record contains placeholder text (lorem ipsum)")])
    }

    @Test("a file that changes while it is read is rejected")
    func changedWhileRead() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try write((1...5).map { record($0) + "\n" }.joined(), in: dir)
        let appended = Mutex(false)
        let validator = FileValidator(plan: ValidationPlan(model: ValidationCorpus.fieldsModel)) { _ in
            appended.withLock { done in
                if !done, let handle = FileHandle(forWritingAtPath: path) {
                    handle.seekToEndOfFile()
                    handle.write(Data("{\"prompt\":\"late\",\"completion\":\"x\"}\n".utf8))
                    try? handle.close()
                    done = true
                }
            }
            return []
        }
        let report = validator.validate(path: path)
        #expect(report.problems.contains { $0.kind == .fileChanged }, "\(report.text())")
    }

    @Test("the report round-trips through JSON for machines")
    func jsonReport() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try write("{\"prompt\":1}\n", in: dir)
        let report = FileValidator(plan: ValidationPlan(model: ValidationCorpus.fieldsModel)).validate(path: path)
        let data = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(ValidationReport.self, from: data) == report)
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect((object?["problems"] as? [[String: Any]])?.contains { $0["kind"] as? String == "wrong_type" } == true)
    }
}
