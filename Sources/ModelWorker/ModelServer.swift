import FinetunedConfig
import FinetunedLocalBackend
import FinetunedWorkflow
import Foundation
import Logging

/// The model worker that serves the daemon's inference and scoring: started by the first
/// request, kept while workflows use it, ended when the engine goes idle. The weights,
/// OpenBLAS, the encoder's buffers and its threads live and die with it, so a daemon at rest
/// holds none of them, and a crash in numeric code fails one request rather than the daemon.
public actor ModelServer {
    let launcher: ModelWorkerLauncher
    let modelDirectory: String
    let logger: Logger
    private var worker: ModelWorkerProcess?

    public init(launcher: ModelWorkerLauncher, modelDirectory: String, logger: Logger) {
        self.launcher = launcher
        self.modelDirectory = modelDirectory
        self.logger = logger
    }

    /// Sends `request` to the worker, starting one if none runs. A worker that died is
    /// replaced at the next request.
    func request(_ request: ModelWorkerRequest) async throws -> ModelWorkerReply {
        let worker = try running()
        do {
            // A request cannot be interrupted inside the worker: when the caller gives up
            // (the engine's invoke deadline), the worker is killed and the next request
            // starts another.
            return try await withTaskCancellationHandler {
                try await worker.call(request)
            } onCancel: {
                worker.kill()
            }
        } catch {
            if self.worker === worker { self.worker = nil }
            let how = await worker.finish()
            // Given up by its caller (a shutdown, a deadline): for the caller that is a
            // cancellation, not a failure of the work, which resumes at the next start.
            if Task.isCancelled {
                logger.debug("model worker \(worker.pid) ended with its cancelled request: \(how)")
                throw CancellationError()
            }
            logger.error("model worker \(worker.pid) \(how): \(error)")
            throw error
        }
    }

    /// Ends the worker, if one runs; the next request starts another.
    public func stop() async {
        guard let worker else { return }
        self.worker = nil
        let how = await worker.finish()
        logger.debug("model worker \(worker.pid) stopped: \(how)")
    }

    /// The worker's process id, if one runs (tests look at it).
    var pid: pid_t? { worker?.pid }

    private func running() throws -> ModelWorkerProcess {
        if let worker { return worker }
        let started = try ModelWorkerProcess(launcher: launcher, modelDirectory: modelDirectory)
        logger.debug("model worker \(started.pid) started")
        worker = started
        return started
    }
}

/// A reply that is not the one the request calls for.
struct UnexpectedReply: Error, CustomStringConvertible {
    var description: String
    init(_ reply: ModelWorkerReply, to request: String) {
        if case .failed(let reason) = reply { description = reason } else { description = "the model worker answered \(request) with \(reply)" }
    }
}
