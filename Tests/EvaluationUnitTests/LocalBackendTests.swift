import FinetunedEvaluation
import FinetunedTestSupport
import FinetunedText
import FinetunedWorkflow
import Foundation
import Logging
import Testing

@testable import FinetunedLocalBackend

@Suite("local backend: sentences, the head and its training")
struct LocalModelTests {
    @Test("sentences end at . ! ? before a capital, digit or quote, and at line breaks; decimals and abbreviations do not end one")
    func splitting() {
        #expect(
            SentenceSplitter.sentences("The disk filled up. It was 3.5 TB, e.g. the whole volume! Why? \"Logs.\" 42 left\nNext line") == [
                "The disk filled up.", "It was 3.5 TB, e.g. the whole volume!", "Why?", "\"Logs.\"", "42 left", "Next line",
            ])
        #expect(SentenceSplitter.sentences("   ") == [])
        #expect(SentenceSplitter.sentences("no end mark") == ["no end mark"])
        #expect(SentenceSplitter.sentences("version v1.2.3 shipped. then lower case.") == ["version v1.2.3 shipped. then lower case."])
        #expect(SentenceSplitter.wordCount(" two  words\n") == 2)
    }

    /// Features whose sentence at `key` has a distinct vector; everything else is alike.
    static func synthetic(count: Int, seed: UInt64) -> [TrainingExample] {
        var random = FinetunedEvaluation.SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let n = 5 + random.nextInt(below: 4)
            let key = random.nextInt(below: n)
            let vectors: [[Float]] = (0..<n).map { i in
                let v = (0..<8).map { d -> Float in (i == key && d == 0 ? 2 : 0) + random.nextSymmetric() * 0.3 }
                return Vector.normalized(v)
            }
            let document = DocumentFeatures(sentences: (0..<n).map { "Sentence \($0) has words." }, vectors: vectors)
            return TrainingExample(rows: document.rows, labels: (0..<n).map { $0 == key ? 1 : 0 }, completionWords: 4)
        }
    }

    @Test("training learns the labels: validation loss falls and the head ranks the labelled sentence first")
    func learns() throws {
        let examples = Self.synthetic(count: 80, seed: 3)
        let settings = TrainingSettings(epochs: 12, batchSize: 8, learningRate: 0.02, patience: 12, evalPercentage: 25, seed: 9)
        let trainer = try HeadTrainer(examples: examples, settings: settings)
        #expect(trainer.validationIndices.count == 20 && trainer.trainingIndices.count == 60)
        #expect(Set(trainer.validationIndices).isDisjoint(with: trainer.trainingIndices))
        var checkpoint = trainer.start(settings)
        let untrained = trainer.loss(of: checkpoint.head, on: trainer.validationIndices)
        while !checkpoint.finished { _ = trainer.runEpoch(&checkpoint) }
        #expect(checkpoint.epochsDone == 12)
        #expect(checkpoint.bestValidationLoss < untrained * 0.5, "\(checkpoint.bestValidationLoss) vs untrained \(untrained)")
        let model = ExtractiveModel(head: checkpoint.best, defaultBudgetWords: 4, trainedOn: nil)
        let hits = trainer.validationIndices.filter { index in
            let example = examples[index]
            let scores = example.rows.map { model.head!.score($0) }
            return example.labels[scores.indices.max { scores[$0] < scores[$1] }!] == 1
        }
        #expect(hits.count >= 18, "ranked the key sentence first in \(hits.count) of 20 held-out documents")
    }

    @Test("a run resumed from a saved checkpoint ends exactly where an uninterrupted run ends")
    func resumeIsExact() throws {
        let examples = Self.synthetic(count: 40, seed: 5)
        let settings = TrainingSettings(epochs: 6, batchSize: 4, learningRate: 0.05, patience: 6, evalPercentage: 20, seed: 11)
        let trainer = try HeadTrainer(examples: examples, settings: settings)
        var straight = trainer.start(settings)
        while !straight.finished { _ = trainer.runEpoch(&straight) }

        var interrupted = trainer.start(settings)
        _ = trainer.runEpoch(&interrupted)
        _ = trainer.runEpoch(&interrupted)
        // Through the same JSON the backend writes to disk, and a new trainer, as after a restart.
        let saved = try JSONEncoder.local.encode(interrupted)
        var resumed = try JSONDecoder.local.decode(TrainingCheckpoint.self, from: saved)
        let again = try HeadTrainer(examples: examples, settings: settings)
        while !resumed.finished { _ = again.runEpoch(&resumed) }
        #expect(resumed == straight)
        #expect(resumed.steps.map(\.step) == Array(1...resumed.steps.count))
    }

    @Test("early stopping: training ends after `patience` epochs without a better validation loss and keeps the best weights")
    func earlyStopping() throws {
        let examples = Self.synthetic(count: 30, seed: 8)
        // A large step makes the validation loss bounce, so patience 1 stops early.
        let settings = TrainingSettings(epochs: 50, batchSize: 2, learningRate: 1, patience: 1, evalPercentage: 30, seed: 2)
        let trainer = try HeadTrainer(examples: examples, settings: settings)
        var checkpoint = trainer.start(settings)
        while !checkpoint.finished { _ = trainer.runEpoch(&checkpoint) }
        #expect(checkpoint.epochsDone < 50)
        #expect(checkpoint.stopReason?.hasPrefix("early stop") == true)
        #expect(checkpoint.epochsDone == checkpoint.bestEpoch + 1)
        #expect(trainer.loss(of: checkpoint.best, on: trainer.validationIndices) == checkpoint.bestValidationLoss)
    }

    @Test("hyperparameters are read from Bedrock-style strings and refused when out of range")
    func settings() throws {
        let s = try TrainingSettings(
            hyperparameters: [
                "epochCount": "3", "batchSize": "4", "learningRate": "0.01",
                "earlyStoppingPatience": "2", "evalPercentage": "10",
            ], seed: 1)
        #expect(s.epochs == 3 && s.batchSize == 4 && s.learningRate == 0.01 && s.patience == 2 && s.evalPercentage == 10)
        #expect(throws: Failure.self) { try TrainingSettings(hyperparameters: ["epochCount": "lots"], seed: 1) }
        #expect(throws: Failure.self) { try TrainingSettings(hyperparameters: ["batchSize": "0"], seed: 1) }
    }

    @Test("selection: best sentences within the budget, in document order; the best one even over budget")
    func selection() {
        let vectors: [[Float]] = [[1, 0], [0.9, 0.1], [0, 1], [0.95, 0.05]].map(Vector.normalized)
        let document = DocumentFeatures(
            sentences: ["One two three.", "Four five.", "Six seven eight nine ten.", "Eleven twelve."],
            vectors: vectors)
        let base = ExtractiveModel.base
        // Centrality order: 1, 3, 0, 2 (the odd one out last).
        #expect(base.select(document, budgetWords: 4) == [1, 3])
        #expect(base.select(document, budgetWords: 1) == [1])
        #expect(base.summarize(document, budgetWords: 7).text == "One two three. Four five. Eleven twelve.")
        #expect(base.summarize(document, budgetWords: 100).outputWords == 12)
    }

    @Test("the feature cache round-trips exactly, and a truncated file is not trusted")
    func featureCache() throws {
        let dir = try TemporaryDirectory(prefix: "ftlc")
        defer { dir.remove() }
        let examples = Self.synthetic(count: 7, seed: 1)
        let path = dir.file("features.bin")
        try TrainingData.save(examples, to: path)
        #expect(TrainingData.load(from: path) == examples)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 3).write(to: URL(fileURLWithPath: path))
        #expect(TrainingData.load(from: path) == nil)
    }

    @Test("invoke bodies: a document and an optional positive budget")
    func invokeBody() throws {
        #expect(try InvokeBody(json: #"{"document": "A. B.", "budget_words": 12}"#) == InvokeBody(document: "A. B.", budgetWords: 12))
        #expect(try InvokeBody(json: #"{"document": "A."}"#).budgetWords == nil)
        #expect(throws: Failure.self) { try InvokeBody(json: #"{"budget_words": 3}"#) }
        #expect(throws: Failure.self) { try InvokeBody(json: #"{"document": "A.", "budget_words": 2.5}"#) }
        #expect(throws: Failure.self) { try InvokeBody(json: "[]") }
        #expect(try InvokeBody(json: #"{"document": "A.", "budget_words": null}"#).budgetWords == nil)
        #expect(try InvokeBody(json: #"{"document": "A.", "budget_words": 3.0}"#).budgetWords == 3)
        #expect(throws: Failure(.training, "\"budget_words\" must be a positive integer")) {
            try InvokeBody(json: #"{"document": "A.", "budget_words": 0}"#)
        }
        #expect(throws: Failure(.training, "\"budget_words\" must be a positive integer")) {
            try InvokeBody(json: #"{"document": "A.", "budget_words": "3"}"#)
        }
        #expect(throws: Failure(.training, "the request body has no \"document\" string")) { try InvokeBody(json: #"{"document": 7}"#) }
        #expect(throws: Failure(.training, "the request body is not a JSON object")) { try InvokeBody(json: "{") }
    }
}

extension InvokeBody {
    init(document: String, budgetWords: Int?) {
        self = try! InvokeBody(json: #"{"document": "x"}"#)
        self.document = document
        self.budgetWords = budgetWords
    }
}

@Suite(
    "local backend: the real encoder, training and serving", .serialized,
    .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
struct LocalBackendTests {
    static let encoder: SentenceEncoder? = {
        let directory = SharedTestData.modelDirectory.path
        guard let bert = try? BERTEncoder(modelFile: directory + "/model.safetensors"),
            let tokenizer = try? WordPieceTokenizer(vocabularyFile: directory + "/vocab.txt")
        else { return nil }
        return SentenceEncoder(encoder: bert, tokenizer: tokenizer)
    }()

    @Test("sentence vectors are unit length, batched equals one by one, and a paraphrase is nearest its source")
    func vectors() throws {
        let encoder = try #require(Self.encoder)
        let sentences = [
            "The root cause was an expired certificate on the load balancer.",
            "Customers saw error pages on the checkout site.",
            "The review meeting is booked for Friday.",
        ]
        let batched = try encoder.embed(sentences)
        for (i, sentence) in sentences.enumerated() {
            let single = try SentenceEncoder(encoder: encoder.encoder, tokenizer: encoder.tokenizer).embed(sentence)
            #expect(zip(single, batched[i]).allSatisfy { abs($0 - $1) < 1e-5 })
            #expect(abs(Vector.dot(single, single) - 1) < 1e-4)
        }
        let document = DocumentFeatures(sentences: sentences, vectors: batched)
        let labels = GreedyOracle.labels(
            document: document,
            completionVectors: [try encoder.embed("An expired load balancer certificate caused it.")],
            dimension: encoder.dimension)
        #expect(labels == [1, 0, 0])
    }

    static func backend(_ dir: TemporaryDirectory, afterEpoch: @escaping @Sendable (Int) -> Void = { _ in }) throws -> LocalBackend {
        let encoder = try #require(Self.encoder)
        return LocalBackend(
            name: "test", root: dir.file("local"), encoderProvider: { encoder },
            logger: Logger(label: "test"), afterEpoch: afterEpoch)
    }

    @Test("a job trains on the upload, writes Bedrock-shaped metrics, and its model serves answers the local adapter's shape")
    func trainAndServe() async throws {
        let dir = try TemporaryDirectory(prefix: "ftlb")
        defer { dir.remove() }
        let backend = try Self.backend(dir)
        let source = try dir.write("drop.jsonl", try LocalJobFixtures.examples("summaries-train.jsonl", lines: 60))
        let uri = try await backend.putTrainingData(TrainingUpload(workflowID: "wf-test", profile: "p", localPath: source, sha256: nil))
        #expect(uri == "file://" + dir.file("local/uploads/p/wf-test/training.jsonl"))
        let arn = try await backend.createJob(LocalJobFixtures.request(uri))
        // The same token is the same job; another token under the same name is refused.
        #expect(try await backend.createJob(LocalJobFixtures.request(uri)) == arn)
        await #expect(throws: BackendError.self) { try await backend.createJob(LocalJobFixtures.request(uri, token: "tok2")) }
        let done = try await LocalJobFixtures.waitForJob(backend, arn)
        #expect(done.status == .completed, "\(done)")
        let model = try #require(done.customModelARN)
        #expect(try await backend.findJob(name: "job-a1")?.status == .completed)

        let folder = dir.file("local/jobs/job-a1")
        let csv = try String(contentsOfFile: folder + "/step_wise_training_metrics.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "step_number,epoch_number,training_loss,perplexity")
        #expect(csv.count > 4 && csv.dropFirst().allSatisfy { $0.split(separator: ",").count == 4 })
        let validation = try String(contentsOfFile: folder + "/validation_metrics.csv", encoding: .utf8).split(separator: "\n")
        #expect(validation.count == 5, "a header and one row per epoch: \(validation)")

        let throughput = try await backend.createThroughput(ThroughputRequest(name: "tp-a1", modelARN: model, clientRequestToken: "tp1", tags: [:]))
        #expect(try await backend.throughput(throughput).status == .inService)
        let document = try #require(try LocalJobFixtures.examples("summaries-eval.jsonl", lines: 1).data(using: .utf8))
        let prompt = try #require((try JSONSerialization.jsonObject(with: document) as? [String: Any])?["prompt"] as? String)
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["document": prompt]), as: UTF8.self)
        for id in ["local.minilm-extractive-v1", throughput] {
            let answer = try JSONSerialization.jsonObject(with: Data(try await backend.invoke(modelID: id, body: body).utf8)) as? [String: Any]
            let summary = try #require(answer?["summary"] as? String)
            #expect(!summary.isEmpty && prompt.contains(SentenceSplitter.sentences(summary)[0]), "an extract of the document: \(summary)")
            #expect((answer?["output_words"] as? Int) == SentenceSplitter.wordCount(summary))
        }
        await #expect(throws: BackendError.self) { try await backend.invoke(modelID: "cohere.command-text-v14", body: body) }

        // A model in use cannot be deleted; once its throughput is gone it can, and both stay gone.
        await #expect(throws: BackendError.self) { try await backend.deleteCustomModel(model) }
        try await backend.deleteThroughput(throughput)
        try await backend.deleteThroughput(throughput)
        await #expect(throws: BackendError.notFound("ResourceNotFoundException: no provisioned throughput \(throughput)")) {
            try await backend.throughput(throughput)
        }
        try await backend.deleteCustomModel(model)
        try await backend.deleteCustomModel(model)
        await #expect(throws: BackendError.self) {
            try await backend.createThroughput(ThroughputRequest(name: "tp-a2", modelARN: model, clientRequestToken: "tp2", tags: [:]))
        }
    }

    @Test("a job found InProgress by a new process resumes after its last saved epoch and is never trained twice from scratch")
    func resumesAfterRestart() async throws {
        let dir = try TemporaryDirectory(prefix: "ftlr")
        defer { dir.remove() }
        let source = try dir.write("drop.jsonl", try LocalJobFixtures.examples("summaries-train.jsonl", lines: 40))
        // The first "process" stops its training after epoch 2 as a crash would: the record
        // stays InProgress, the checkpoint holds two epochs.
        let first = try Self.backend(dir)
        let uri = try await first.putTrainingData(TrainingUpload(workflowID: "wf-r", profile: "p", localPath: source, sha256: nil))
        let folder = dir.file("local/jobs/job-a1")
        let arn = try await first.createJob(LocalJobFixtures.request(uri))
        var checkpoint: TrainingCheckpoint?
        for _ in 0..<600 {
            if let data = FileManager.default.contents(atPath: folder + "/checkpoint.json") {
                checkpoint = try JSONDecoder.local.decode(TrainingCheckpoint.self, from: data)
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await LocalJobFixtures.waitForJob(first, arn).status == .completed)
        // Rewind the finished job to how a crash after epoch 1 leaves it.
        var early = try #require(checkpoint)
        #expect(early.epochsDone >= 1)
        let settings = early.settings
        let examples = try #require(TrainingData.load(from: folder + "/features.bin"))
        let trainer = try HeadTrainer(examples: examples, settings: settings)
        early = trainer.start(settings)
        _ = trainer.runEpoch(&early)
        try JSONEncoder.local.encode(early).write(to: URL(fileURLWithPath: folder + "/checkpoint.json"))
        var record = try JSONDecoder.local.decode(LocalJob.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/job.json")))
        let finishedModel = try JSONDecoder.local.decode(
            LocalModel.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("local/models/model-job-a1/model.json"))))
        record.status = .inProgress
        record.customModelARN = nil
        try JSONEncoder.local.encode(record).write(to: URL(fileURLWithPath: folder + "/job.json"))
        try FileManager.default.removeItem(atPath: dir.file("local/models/model-job-a1"))
        let featuresWritten = try FileManager.default.attributesOfItem(atPath: folder + "/features.bin")[.modificationDate] as? Date

        let epochs = EpochLog()
        let second = try Self.backend(dir, afterEpoch: { epochs.append($0) })
        #expect(try await second.findJob(name: "job-a1")?.status == .inProgress)
        let done = try await LocalJobFixtures.waitForJob(second, arn)
        #expect(done.status == .completed)
        #expect(epochs.values.first == 2, "resumed at epoch 2, ran \(epochs.values)")
        // The features were not computed again, and the model is the one an uninterrupted run made.
        #expect(try FileManager.default.attributesOfItem(atPath: folder + "/features.bin")[.modificationDate] as? Date == featuresWritten)
        let resumedModel = try JSONDecoder.local.decode(
            LocalModel.self, from: Data(contentsOf: URL(fileURLWithPath: dir.file("local/models/model-job-a1/model.json"))))
        #expect(resumedModel.model.head == finishedModel.model.head)
    }

    @Test("stopping a running job ends it Stopped, with no custom model")
    func stop() async throws {
        let dir = try TemporaryDirectory(prefix: "ftls")
        defer { dir.remove() }
        let gate = EpochLog()
        let stopRequested = DispatchSemaphore(value: 0)
        let backend = try Self.backend(
            dir,
            afterEpoch: { epoch in
                gate.append(epoch)
                // Hold the training thread after the first epoch until the stop request has
                // landed, so the run is mid-way however loaded the machine is.
                if epoch == 1 { _ = stopRequested.wait(timeout: .now() + 30) }
            })
        let source = try dir.write("drop.jsonl", try LocalJobFixtures.examples("summaries-train.jsonl", lines: 30))
        let uri = try await backend.putTrainingData(TrainingUpload(workflowID: "wf-s", profile: "p", localPath: source, sha256: nil))
        let arn = try await backend.createJob(LocalJobFixtures.request(uri))
        for _ in 0..<600 where gate.values.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        try await backend.stopJob(arn)
        stopRequested.signal()
        let state = try await LocalJobFixtures.waitForJob(backend, arn)
        #expect(state.status == .stopped && state.customModelARN == nil)
        #expect(gate.values == [1], "stopped after the epoch in progress: \(gate.values)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("local/models/model-job-a1")))
        try await backend.stopJob(arn)
    }
}

final class EpochLog: @unchecked Sendable {
    private let lock = NSLock()
    private var epochs: [Int] = []
    func append(_ epoch: Int) {
        lock.lock()
        epochs.append(epoch)
        lock.unlock()
    }
    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return epochs
    }
}
