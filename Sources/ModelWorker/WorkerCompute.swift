import FinetunedLocalBackend
import Foundation
import Logging

/// The local backend's work in model workers: inference through the shared `ModelServer`,
/// and each training job in a worker of its own for as long as it trains.
public struct WorkerCompute: LocalCompute {
    /// Inference goes to it; a training worker starts as it starts its own.
    let server: ModelServer
    let logger: Logger
    /// Called in the daemon after each epoch the worker saved (tests crash the daemon there).
    let afterEpoch: @Sendable (Int) -> Void

    public init(server: ModelServer, logger: Logger, afterEpoch: @escaping @Sendable (Int) -> Void) {
        self.server = server
        self.logger = logger
        self.afterEpoch = afterEpoch
    }

    public func prepare(modelFile: String?) async throws {
        let reply = try await server.request(.prepare(modelFile: modelFile))
        guard reply == .prepared else { throw UnexpectedReply(reply, to: "prepare") }
    }

    public func summarize(modelFile: String?, document: String, budgetWords: Int?) async throws -> String {
        let reply = try await server.request(.summarize(modelFile: modelFile, document: document, budgetWords: budgetWords))
        guard case .summary(let body) = reply else { throw UnexpectedReply(reply, to: "summarize") }
        return body
    }

    /// The worker writes every outcome into the job's record. Only a worker that ends
    /// without saying the training ended (a crash, the OOM killer) leaves the record
    /// `InProgress`: the job is then failed with how the worker ended, rather than resumed
    /// into the same crash again and again.
    public func train(_ target: LocalTrainingTarget, stop: StopSignal) async {
        let worker: ModelWorkerProcess
        do {
            worker = try ModelWorkerProcess(launcher: server.launcher, modelDirectory: server.modelDirectory)
        } catch {
            return LocalWork.fail(target, reason: "\(error)", logger: logger)
        }
        logger.debug("model worker \(worker.pid) training \(target.job)", metadata: ["job": "\(target.job)"])
        stop.whenRequested { try? worker.send(.stop) }
        let afterEpoch = afterEpoch
        let ended = try? await worker.converse { worker -> Bool in
            try worker.send(.train(target))
            while let reply = try worker.receive() {
                switch reply {
                case .epochSaved(let epoch):
                    afterEpoch(epoch)
                    try worker.send(.proceed)
                case .trainingEnded:
                    return true
                default:
                    throw UnexpectedReply(reply, to: "train")
                }
            }
            return false
        }
        let how = await worker.finish()
        if ended != true {
            LocalWork.fail(target, reason: "the model worker training it \(how)", logger: logger)
        }
    }
}
