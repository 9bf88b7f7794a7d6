import FinetunedConfig
import FinetunedLocalBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging
import Synchronization
import Testing

@testable import FinetunedModelWorker

/// The model worker (`finetuned model-worker`), the real binary, driven as the daemon drives
/// it: requests answered exactly as the same work done in this process, a worker's death
/// reported with how it died and survived by the next request, nothing of the daemon's
/// (systemd's variables, open descriptors) passed on, and local training in a worker of its
/// own that stops on request and fails cleanly when its worker is killed.
@Suite(
    "the model worker process", .serialized,
    .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
struct ModelWorkerTests {
    static func launcher(environment: [String: String]? = nil) -> ModelWorkerLauncher {
        ModelWorkerLauncher(executable: BuiltProducts.executable("finetuned"), logTo: "stderr", logLevel: "warning", environment: environment)
    }

    static var modelDirectory: String { SharedTestData.modelDirectory.path }

    static func server(environment: [String: String]? = nil, modelDirectory: String = modelDirectory) -> ModelServer {
        ModelServer(launcher: launcher(environment: environment), modelDirectory: modelDirectory, logger: Logger(label: "test"))
    }

    /// A server whose worker has loaded the model, and that worker's process id.
    static func startedServer() async throws -> (ModelServer, pid_t) {
        let server = Self.server()
        #expect(try await server.request(.prepare(modelFile: nil)) == .prepared)
        return (server, try #require(await server.pid))
    }

    /// A scoring of 60 prompts with `resamples` bootstrap rounds: long enough (a second or
    /// more) for a test to act while the worker is busy with it.
    static func longScoring(on server: ModelServer, resamples: Int) throws -> Task<ModelWorkerReply, any Error> {
        let prompts = try prompts(60)
        var settings = EvaluationSettings()
        settings.resamples = resamples
        let plan = EvaluationPlan(prompts: prompts, leaked: 0, source: "eval.jsonl")
        return Task {
            try await server.request(.score(plan: plan, base: prompts.map { $0.prompt }, custom: prompts.map { $0.reference }, settings: settings))
        }
    }

    static func prompts(_ count: Int) throws -> [EvaluationPrompt] {
        try LocalJobFixtures.examples("summaries-eval.jsonl", lines: count).split(separator: "\n").enumerated().map { index, line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return EvaluationPrompt(line: index + 1, prompt: object?["prompt"] as? String ?? "", reference: object?["completion"] as? String ?? "")
        }
    }

    /// The process's state letter from /proc, nil once it is gone (reaped).
    static func state(of pid: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)...].split(separator: " ").first.map(String.init)
    }

    @Test(
        "prepare, plan, summarize and score are answered exactly as in process; a request that fails leaves the worker serving; stop ends and reaps it"
    )
    func answersAsInProcess() async throws {
        let dir = try TemporaryDirectory(prefix: "ftmw")
        defer { dir.remove() }
        let server = Self.server()
        #expect(try await server.request(.prepare(modelFile: nil)) == .prepared)
        let pid = try #require(await server.pid)
        #expect(try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) == "finetuned-model\n")

        let model = SharedModel(directory: Self.modelDirectory)
        let parts = try model.parts()
        let prompts = try Self.prompts(4)
        for budget in [nil, 25] {
            let reply = try await server.request(.summarize(modelFile: nil, document: prompts[0].prompt, budgetWords: budget))
            #expect(
                reply == .summary(try LocalWork.summarize(model: .base, document: prompts[0].prompt, budgetWords: budget, encoder: parts.sentences)))
        }

        // The plan leaves out the evaluation prompt the training data repeats, as in process.
        let evaluationSet = try dir.write("eval.jsonl", try LocalJobFixtures.examples("summaries-eval.jsonl", lines: 6))
        let leaked = try LocalJobFixtures.examples("summaries-eval.jsonl", lines: 3).split(separator: "\n")[2]
        let trainingFile = try dir.write("train.jsonl", try LocalJobFixtures.examples("summaries-train.jsonl", lines: 5) + leaked + "\n")
        let planned = try await server.request(.plan(evaluationSet: evaluationSet, trainingFile: trainingFile))
        let inProcessPlan = try BERTEvaluator.plan(evaluationSet: evaluationSet, trainingFile: trainingFile)
        #expect(planned == .planned(inProcessPlan))
        #expect(inProcessPlan.prompts.count == 5 && inProcessPlan.leaked == 1 && !inProcessPlan.prompts.map(\.line).contains(3))
        let missing = try await server.request(.plan(evaluationSet: dir.file("absent.jsonl"), trainingFile: trainingFile))
        guard case .failed(let why) = missing, why.contains(dir.file("absent.jsonl")) else {
            Issue.record("\(missing)")
            return
        }

        // A model file that is not one fails the throughput's coming into service, with the file named.
        let garbage = try dir.write("model.json", "{\"name\": 1}")
        let refused = try await server.request(.prepare(modelFile: garbage))
        guard case .failed(let notAModel) = refused, notAModel.contains("\(garbage) is not a record the local backend wrote") else {
            Issue.record("\(refused)")
            return
        }

        let plan = EvaluationPlan(prompts: prompts, leaked: 1, source: "eval.jsonl")
        let base: [String?] = prompts.map { String($0.prompt.prefix(200)) }
        var custom: [String?] = prompts.map { $0.reference }
        custom[2] = nil
        var settings = EvaluationSettings()
        settings.minPrompts = 2
        settings.resamples = 500
        let scored = try await server.request(.score(plan: plan, base: base, custom: custom, settings: settings))
        let expected = try BERTEvaluator.score(
            plan: plan, base: base, custom: custom, settings: settings, encoder: parts.encoder, tokenizer: parts.tokenizer)
        #expect(scored == .scored(expected))
        #expect(expected.summary.excludedUnanswered == 1 && expected.perPrompt.map(\.index) == [0, 1, 3])

        // A score request whose answers do not line up with its prompts fails alone.
        let failed = try await server.request(.score(plan: plan, base: [nil], custom: [nil], settings: settings))
        guard case .failed(let reason) = failed else {
            Issue.record("expected a failure, got \(failed)")
            return
        }
        #expect(reason == "4 prompts, but 1 base and 1 custom answers")
        #expect(try await server.request(.prepare(modelFile: nil)) == .prepared)
        #expect(await server.pid == pid, "the same worker went on serving")

        await server.stop()
        #expect(await server.pid == nil)
        #expect(Self.state(of: pid) == nil, "the worker ended and was reaped")
    }

    @Test("a wrong model folder fails the request with the reason, from the worker")
    func missingModel() async throws {
        let dir = try TemporaryDirectory(prefix: "ftmw")
        defer { dir.remove() }
        let server = Self.server(modelDirectory: dir.file("nowhere"))
        let reply = try await server.request(.prepare(modelFile: nil))
        guard case .failed(let reason) = reply else {
            Issue.record("expected a failure, got \(reply)")
            return
        }
        #expect(reason.contains("cannot read \(dir.file("nowhere"))/model.safetensors"), "\(reason)")
        await server.stop()
    }

    @Test("a worker killed mid-request fails that request saying so; the next request starts another worker")
    func workerDeath() async throws {
        let (server, first) = try await Self.startedServer()
        kill(first, SIGKILL)
        do {
            _ = try await server.request(.prepare(modelFile: nil))
            Issue.record("a request to a killed worker succeeded")
        } catch {
            #expect("\(error)".contains("was killed by signal 9"), "\(error)")
        }
        #expect(Self.state(of: first) == nil, "the dead worker was reaped")
        #expect(try await server.request(.prepare(modelFile: nil)) == .prepared)
        let second = try #require(await server.pid)
        #expect(second != first)
        await server.stop()
    }

    @Test("stopping the server lets the requests already asked of its worker finish first")
    func stopAfterPendingRequests() async throws {
        let (server, first) = try await Self.startedServer()
        let scoring = try Self.longScoring(on: server, resamples: 100_000)
        try await Task.sleep(for: .milliseconds(200))
        // Queued behind the scoring, on the same worker, when the engine goes idle.
        let queued = Task { try await server.request(.prepare(modelFile: nil)) }
        try await Task.sleep(for: .milliseconds(100))
        await server.stop()
        guard case .scored = try await scoring.value else {
            Issue.record("the scoring did not finish")
            return
        }
        #expect(try await queued.value == .prepared)
        #expect(Self.state(of: first) == nil, "the worker ended and was reaped")
    }

    @Test("a request its caller gives up on ends as a cancellation, the busy worker killed and reaped; the next request starts another")
    func cancelledRequest() async throws {
        let (server, first) = try await Self.startedServer()
        let scoring = try Self.longScoring(on: server, resamples: 200_000)
        try await Task.sleep(for: .milliseconds(300))
        scoring.cancel()
        await #expect(throws: CancellationError.self) { _ = try await scoring.value }
        #expect(Self.state(of: first) == nil, "the busy worker was killed and reaped")
        #expect(await server.pid == nil)
        #expect(try await server.request(.prepare(modelFile: nil)) == .prepared)
        #expect(try #require(await server.pid) != first)
        await server.stop()
    }

    @Test("the worker gets neither systemd's notify and watchdog variables nor any of the daemon's open descriptors")
    func inheritsNothingOfTheDaemon() async throws {
        let dir = try TemporaryDirectory(prefix: "ftmw")
        defer { dir.remove() }
        // A descriptor without close-on-exec, as a careless library might leave one.
        let marker = dir.file("marker")
        let descriptor = open(marker, O_CREAT | O_WRONLY, 0o600)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = "/run/systemd/notify"
        environment["WATCHDOG_USEC"] = "30000000"
        environment["WATCHDOG_PID"] = "\(getpid())"
        environment["FINETUNED_MARKER"] = "kept"
        let server = Self.server(environment: environment)
        #expect(try await server.request(.prepare(modelFile: nil)) == .prepared)
        let pid = try #require(await server.pid)
        let variables = try #require(FileManager.default.contents(atPath: "/proc/\(pid)/environ")).split(separator: 0).map {
            String(decoding: $0, as: UTF8.self)
        }
        #expect(variables.contains("FINETUNED_MARKER=kept"))
        #expect(!variables.contains { $0.hasPrefix("NOTIFY_SOCKET=") || $0.hasPrefix("WATCHDOG_") }, "\(variables)")
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
        }
        #expect(!open.contains(marker), "the worker holds \(open)")
        await server.stop()
    }

    @Test(
        "training in a worker: every saved epoch is reported to the daemon's side, a stop ends it Stopped, a killed worker fails the job with how it died"
    )
    func trainingWorker() async throws {
        let dir = try TemporaryDirectory(prefix: "ftmt")
        defer { dir.remove() }
        let source = try dir.write("drop.jsonl", try LocalJobFixtures.examples("summaries-train.jsonl", lines: 40))
        let epochs = Mutex<[Int]>([])
        let action = Mutex<(@Sendable (Int) -> Void)?>(nil)
        let server = Self.server()
        let compute = WorkerCompute(
            server: server, logger: Logger(label: "test"),
            afterEpoch: { epoch in
                epochs.withLock { $0.append(epoch) }
                action.withLock { $0 }?(epoch)
            })
        let backend = LocalBackend(name: "test", root: dir.file("local"), compute: compute, logger: Logger(label: "test"))
        let uri = try await backend.putTrainingData(TrainingUpload(workflowID: "wf-w", profile: "p", localPath: source, sha256: nil))

        let arn = try await backend.createJob(LocalJobFixtures.request(uri, token: "w1", name: "job-w1"))
        let done = try await LocalJobFixtures.waitForJob(backend, arn)
        #expect(done.status == .completed, "\(done)")
        #expect(epochs.withLock { $0 } == [1, 2, 3, 4])
        // Its model is served by the shared worker, as the in-process one would serve it.
        let throughput = try await backend.createThroughput(
            ThroughputRequest(name: "tp-w1", modelARN: try #require(done.customModelARN), clientRequestToken: "t1", tags: [:]))
        #expect(try await backend.throughput(throughput).status == .inService)
        let prompt = try Self.prompts(1)[0].prompt
        let body = String(decoding: try JSONSerialization.data(withJSONObject: ["document": prompt]), as: UTF8.self)
        let answer = try JSONSerialization.jsonObject(with: Data(try await backend.invoke(modelID: throughput, body: body).utf8)) as? [String: Any]
        #expect((answer?["summary"] as? String).map { !$0.isEmpty && prompt.contains(SentenceSplitter.sentences($0)[0]) } == true)
        await server.stop()

        // Stopped after the first epoch: the stop reaches the worker while it waits to go on.
        epochs.withLock { $0 = [] }
        action.withLock {
            $0 = { epoch in
                if epoch == 1 {
                    // Held until the stop is recorded, not for a fixed half second: on a busy
                    // machine the stopping task once ran only after the worker had gone on.
                    let recorded = DispatchSemaphore(value: 0)
                    Task {
                        try? await backend.stopJob(LocalDirectoryARN.job("test", "job-w2"))
                        recorded.signal()
                    }
                    _ = recorded.wait(timeout: .now() + 20)
                }
            }
        }
        let stoppedARN = try await backend.createJob(LocalJobFixtures.request(uri, token: "w2", name: "job-w2"))
        let stopped = try await LocalJobFixtures.waitForJob(backend, stoppedARN)
        #expect(stopped.status == .stopped && stopped.customModelARN == nil, "\(stopped)")
        #expect(epochs.withLock { $0 } == [1])

        // Killed after the first epoch: the job fails, naming the signal, and is not resumed.
        epochs.withLock { $0 = [] }
        action.withLock {
            $0 = { epoch in
                guard epoch == 1 else { return }
                for worker in Self.children(named: "finetuned-model") { kill(worker, SIGKILL) }
            }
        }
        let killedARN = try await backend.createJob(LocalJobFixtures.request(uri, token: "w3", name: "job-w3"))
        let killed = try await LocalJobFixtures.waitForJob(backend, killedARN)
        #expect(killed.status == .failed && killed.message?.contains("the model worker training it was killed by signal 9") == true, "\(killed)")
        #expect(Self.children(named: "finetuned-model").isEmpty, "no worker left behind")
    }

    /// This process's children with that name.
    static func children(named name: String) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"),
                stat[stat.index(after: open)..<close] == name,
                stat[stat.index(close, offsetBy: 2)...].split(separator: " ").dropFirst().first.flatMap({ pid_t($0) }) == getpid()
            else { return nil }
            return pid
        }
    }
}

/// The local backend's ARNs, spelled as it spells them.
enum LocalDirectoryARN {
    static func job(_ backend: String, _ name: String) -> String { "arn:local:\(backend):model-customization-job/\(name)" }
}
