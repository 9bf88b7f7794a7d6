import CProcess
import FinetunedEvaluation
import FinetunedLocalBackend
import FinetunedReport
import Foundation
import Logging
import Synchronization

/// `finetuned model-worker`: the process that holds the model for the daemon. It reads
/// requests from standard input and answers on standard output (`ModelWorkerRequest`), and
/// ends as soon as its input does, which is also what happens when the daemon dies: a
/// worker never outlives its daemon, whatever it was doing (a training cut short resumes from
/// its job's record). SIGTERM and SIGINT are the daemon's to handle; systemd's stop signals
/// the whole unit, and the worker follows its daemon out.
public enum ModelWorkerMain {
    public static func run(modelDirectory: String, logger: Logger) -> Never {
        ft_set_process_name("finetuned-model")
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let model = SharedModel(directory: modelDirectory)
        let replies = ReplyWriter()
        var requests = PipeLineReader(descriptor: STDIN_FILENO)
        var training: (stop: StopSignal, gate: EpochGate)?
        // Custom models by file: a saved model never changes.
        var models: [String: ExtractiveModel] = [:]
        func custom(_ file: String?) throws -> ExtractiveModel {
            guard let file else { return .base }
            if let known = models[file] { return known }
            let loaded = try LocalWork.loadModel(file: file)
            models[file] = loaded
            return loaded
        }
        while let line = try? requests.next() {
            let request: ModelWorkerRequest
            do {
                request = try ModelWorkerCoding.decode(ModelWorkerRequest.self, from: line)
            } catch {
                replies.send(.failed("not a model worker request: \(error)"))
                continue
            }
            switch request {
            case .prepare(let modelFile):
                replies.answer {
                    _ = try model.parts()
                    _ = try custom(modelFile)
                    return .prepared
                }
            case .summarize(let modelFile, let document, let budgetWords):
                replies.answer {
                    .summary(
                        try LocalWork.summarize(
                            model: try custom(modelFile), document: document, budgetWords: budgetWords,
                            encoder: try model.sentenceEncoder()))
                }
            case .plan(let evaluationSet, let trainingFile):
                replies.answer { .planned(try BERTEvaluator.plan(evaluationSet: evaluationSet, trainingFile: trainingFile)) }
            case .score(let plan, let base, let custom, let settings):
                replies.answer {
                    let parts = try model.parts()
                    return .scored(
                        try BERTEvaluator.score(
                            plan: plan, base: base, custom: custom, settings: settings,
                            encoder: parts.encoder, tokenizer: parts.tokenizer))
                }
            case .writeReport(let report):
                replies.answer { .reportWritten(path: try ReportWriter.write(report)) }
            case .train(let target):
                guard training == nil else {
                    replies.send(.failed("this worker is already training"))
                    continue
                }
                let stop = StopSignal(), gate = EpochGate()
                training = (stop, gate)
                Thread {
                    Thread.current.name = "local-training"
                    LocalWork.train(
                        target, encoder: { try model.sentenceEncoder() }, stop: stop, logger: logger,
                        afterEpoch: { epoch in
                            replies.send(.epochSaved(epoch))
                            gate.wait()
                        })
                    replies.send(.trainingEnded)
                }.start()
            case .proceed:
                training?.gate.open()
            case .stop:
                training?.stop.request()
            }
        }
        // No exit handlers: a training thread may still be running, and its record already
        // says everything a resumed run needs.
        _exit(0)
    }
}

/// Replies written whole, from the request loop and the training thread alike.
private final class ReplyWriter: Sendable {
    private let lock = Mutex(())

    func send(_ reply: ModelWorkerReply) {
        guard let line = try? ModelWorkerCoding.line(reply) else { return }
        // A daemon that is gone cannot be answered; the end of the input ends the worker.
        lock.withLock { _ in _ = try? writeAll(STDOUT_FILENO, line) }
    }

    func answer(_ body: () throws -> ModelWorkerReply) {
        do { send(try body()) } catch { send(.failed("\(error)")) }
    }
}

/// The pause after each saved epoch until the daemon says to go on.
private final class EpochGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var permits = 0

    func wait() {
        condition.lock()
        while permits == 0 { condition.wait() }
        permits -= 1
        condition.unlock()
    }

    func open() {
        condition.lock()
        permits += 1
        condition.signal()
        condition.unlock()
    }
}
