import FinetunedText
import FinetunedThreads
import FinetunedWorkflow
import Foundation
import Logging
import Synchronization

/// Where the local backend's numeric work runs: the encoder, training, summarizing. The
/// backend itself only keeps records; this is the seam that lets the daemon run that work
/// in a worker process (`finetuned model-worker`), so that the weights, OpenBLAS and the code
/// that touches them never enter the daemon's memory, while tests and benchmarks run it on
/// threads of their own process (`InProcessCompute`).
public protocol LocalCompute: Sendable {
    /// Loads the encoder, its hash checked, and the custom model in `modelFile` if one is
    /// named: part of a provisioned throughput coming into service.
    func prepare(modelFile: String?) async throws
    /// Trains the job to its end (finished, stopped or failed). Everything it reports goes
    /// into the job's record and the journal, so a run cut short by a crash is resumed from
    /// the record.
    func train(_ target: LocalTrainingTarget, stop: StopSignal) async
    /// The InvokeModel response body for `document` of the custom model in `modelFile`, or
    /// of the base model when it is nil. Models travel by file: their weights never pass
    /// through the daemon.
    func summarize(modelFile: String?, document: String, budgetWords: Int?) async throws -> String
}

/// Which job to train: the backend's folder, its name (for ARNs) and the job's name.
public struct LocalTrainingTarget: Sendable, Codable, Equatable {
    public var root: String
    public var backend: String
    public var job: String

    public init(root: String, backend: String, job: String) {
        self.root = root
        self.backend = backend
        self.job = job
    }
}

/// Asks a running training to stop at its next record or epoch boundary. A training in
/// another process learns of it through `whenRequested`.
public final class StopSignal: Sendable {
    private let state = Mutex<(requested: Bool, observers: [@Sendable () -> Void])>((false, []))

    public init() {}

    public func request() {
        let observers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.requested else { return [] }
            state.requested = true
            defer { state.observers = [] }
            return state.observers
        }
        for observer in observers { observer() }
    }

    public var requested: Bool { state.withLock { $0.requested } }

    /// Runs `observer` once the stop is requested (at once if it already was).
    public func whenRequested(_ observer: @escaping @Sendable () -> Void) {
        let already = state.withLock { state in
            if !state.requested { state.observers.append(observer) }
            return state.requested
        }
        if already { observer() }
    }
}

/// The work itself, synchronous, for whichever thread or process runs it.
public enum LocalWork {
    /// Trains `target` on the calling thread until it ends; see `LocalCompute.train`.
    public static func train(
        _ target: LocalTrainingTarget, encoder: () throws -> SentenceEncoder, stop: StopSignal,
        logger: Logger, afterEpoch: @escaping @Sendable (Int) -> Void
    ) {
        let directory = LocalDirectory(root: target.root, backend: target.backend)
        do {
            let encoder = try encoder()
            TrainingRun(directory: directory, jobName: target.job, encoder: encoder, stop: stop, logger: logger, afterEpoch: afterEpoch).run()
        } catch {
            logger.error("local training job \(target.job) cannot load the encoder: \(error)", metadata: ["job": "\(target.job)"])
            try? directory.updateJob(target.job) {
                $0.status = .failed
                $0.message = "cannot load the encoder: \(ErrorWords.of(error))"
                $0.endedAt = Date()
            }
        }
    }

    /// Ends a job that no training will finish (its worker died), saying why.
    public static func fail(_ target: LocalTrainingTarget, reason: String, logger: Logger) {
        let directory = LocalDirectory(root: target.root, backend: target.backend)
        logger.error("local training job \(target.job) failed: \(reason)", metadata: ["job": "\(target.job)"])
        try? directory.updateJob(target.job) {
            guard $0.status == .inProgress || $0.status == .stopping else { return }
            $0.status = .failed
            $0.message = reason
            $0.endedAt = Date()
        }
    }

    /// The custom model a local job saved.
    public static func loadModel(file: String) throws -> ExtractiveModel {
        guard let stored: LocalModel = try LocalDirectory.read(file) else { throw Failure(.training, "no custom model at \(file)") }
        return stored.model
    }

    public static func summarize(model: ExtractiveModel, document: String, budgetWords: Int?, encoder: SentenceEncoder) throws -> String {
        let features = try DocumentFeatures(document: document, encoder: encoder)
        return model.summarize(features, budgetWords: budgetWords).json
    }
}

/// The work on threads of this process: one training at a time on one thread, inference on
/// another.
public final class InProcessCompute: LocalCompute {
    let encoderProvider: @Sendable () throws -> SentenceEncoder
    let logger: Logger
    let afterEpoch: @Sendable (Int) -> Void
    private let trainingWorker = SerialWorker(name: "local-training")
    private let inferenceWorker = SerialWorker(name: "local-inference")

    /// - Parameters:
    ///   - encoderProvider: the frozen MiniLM encoder, loaded (and its hash checked) on first use.
    ///   - afterEpoch: called after each saved epoch (tests use it to crash mid-training).
    public init(
        encoderProvider: @escaping @Sendable () throws -> SentenceEncoder, logger: Logger,
        afterEpoch: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.encoderProvider = encoderProvider
        self.logger = logger
        self.afterEpoch = afterEpoch
    }

    public func prepare(modelFile: String?) async throws {
        let provider = encoderProvider
        _ = try await inferenceWorker.run {
            _ = try provider()
            if let modelFile { _ = try LocalWork.loadModel(file: modelFile) }
        }
    }

    public func train(_ target: LocalTrainingTarget, stop: StopSignal) async {
        let provider = encoderProvider, logger = logger, afterEpoch = afterEpoch
        _ = try? await trainingWorker.run {
            LocalWork.train(target, encoder: provider, stop: stop, logger: logger, afterEpoch: afterEpoch)
        }
    }

    public func summarize(modelFile: String?, document: String, budgetWords: Int?) async throws -> String {
        let provider = encoderProvider
        return try await inferenceWorker.run {
            let model = try modelFile.map(LocalWork.loadModel(file:)) ?? .base
            return try LocalWork.summarize(model: model, document: document, budgetWords: budgetWords, encoder: try provider())
        }
    }
}
