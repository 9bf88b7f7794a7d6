import FinetunedConfig
import FinetunedEvaluation
import FinetunedReport
import FinetunedScriptedBackend
import FinetunedWorkflow
import Foundation
import Logging
import Synchronization

/// An engine on a real SQLite file and a scripted backend, with a test evaluator beside
/// the BERTScore one: word-overlap F1, decided by the real `DecisionRule`.
public final class EngineFixture: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let store: SQLiteWorkflowStore
    public let backend: ScriptedBackend
    public let environment: TestEnvironment
    public let engine: WorkflowEngine
    public var statePath: String { directory.file("backend.json") }

    public static let fast = EnginePolicy(
        jobPoll: Backoff(initial: .milliseconds(2), maximum: .milliseconds(10)),
        throughputPoll: Backoff(initial: .milliseconds(2), maximum: .milliseconds(10)),
        retry: Backoff(initial: .milliseconds(2), maximum: .milliseconds(10)), stepAttempts: 5, trainingDeadline: .seconds(3600),
        throughputDeadline: .seconds(3600), invokeTimeout: .seconds(5), invokeAttempts: 3, maxConcurrentWorkflows: 4, maxLiveThroughputs: 4,
        maxUnkeptThroughputAge: .seconds(3600))

    public init(
        script: ScriptSettings = ScriptSettings(), policy: EnginePolicy = EngineFixture.fast, prompts: Int = 8,
        keepRejectedModels: Bool = false, directory: TemporaryDirectory? = nil
    ) throws {
        let dir = try directory ?? TemporaryDirectory(prefix: "fte")
        self.directory = dir
        var script = script
        script.stateFile = script.stateFile ?? dir.file("backend.json")
        backend = ScriptedBackend(name: "drill", script: script)
        store = try SQLiteWorkflowStore(path: dir.file("finetuned.sqlite"))
        let evalSet = try dir.write("eval.jsonl", Self.evaluationSet(prompts))
        environment = TestEnvironment(
            backend: backend, archive: dir.file("archive"), evaluationSet: evalSet, keepRejectedModels: keepRejectedModels, store: store)
        var logger = Logger(label: "engine-test")
        logger.logLevel = .critical
        engine = WorkflowEngine(store: store, environment: environment, policy: policy, logger: logger)
    }

    /// Prompts whose first sentence carries the gist (what the scripted custom model answers)
    /// and whose reference restates it; the base model answers with the last sentence.
    public static func evaluationSet(_ n: Int) -> String {
        let topics = [
            "invoice", "router", "printer", "badge", "laptop", "backup", "license", "mailbox", "vpn", "calendar",
            "monitor", "keyboard", "database", "payroll", "shipment", "warehouse",
        ]
        return (0..<n).map { i in
            let topic = topics[i % topics.count] + (i >= topics.count ? " \(i)" : "")
            let prompt = "The \(topic) request was approved by finance on Monday. Staff discussed lunch options. The weather stayed mild all week."
            return #"{"prompt": "\#(prompt)", "reference": "Finance approved the \#(topic) request on Monday."}"# + "\n"
        }.joined()
    }

    /// A validated workflow, as the inbox leaves it.
    @discardableResult
    public func addValidated(_ id: String = WorkflowRecord.newID(), name: String = "drop.jsonl") async throws -> String {
        let spool = try directory.write(
            "spool-\(id).jsonl", (1...20).map { #"{"prompt":"Summarize ticket \#($0).","completion":"Ticket \#($0)."}"# + "\n" }.joined())
        let now = Date()
        try await store.insert(
            WorkflowRecord(
                id: id, profile: "drill", dropName: name, sha256: nil, spoolPath: spool, stage: .claimed,
                createdAt: now, updatedAt: now), event: "test drop")
        _ = try await store.transition(id: id, from: .claimed, to: .validated, event: "valid", failure: nil)
        return id
    }

    public func state() throws -> ScriptState { try ScriptedBackend.state(at: statePath) }

    /// Runs the engine until every workflow has finished or `timeout` passes.
    public func runToEnd(timeout: Duration = .seconds(30)) async throws {
        await engine.schedule()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let open = try await store.workflows(in: Set(WorkflowStage.allCases.filter { !$0.isTerminal }))
            if open.isEmpty { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        await engine.idle()
    }

    /// Returns as soon as the stage is reached; the deadline only bounds a hang, and is generous
    /// because the whole suite runs in parallel on two cores.
    public func waitForStage(_ id: String, _ stages: Set<WorkflowStage>, timeout: Duration = .seconds(120)) async throws -> WorkflowRecord? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let record = try await store.workflow(id: id), stages.contains(record.stage) { return record }
            try await Task.sleep(for: .milliseconds(5))
        }
        return try await store.workflow(id: id)
    }

    public func stages(_ id: String) async throws -> [WorkflowStage] { try await store.stagePath(workflowID: id) }

    public func tearDown() async {
        await engine.shutdown()
        directory.remove()
    }
}

public struct TestEnvironment: WorkflowEnvironment {
    let backend: ScriptedBackend
    let archive: String
    let evaluationSet: String
    let keepRejectedModels: Bool
    /// Where the engine keeps its records, which the reports are gathered from.
    let store: any WorkflowStore
    /// How many times the engine said it went idle (its last runner ended).
    public let idleReports = Tally()

    public init(backend: ScriptedBackend, archive: String, evaluationSet: String, keepRejectedModels: Bool = false, store: any WorkflowStore) {
        self.backend = backend
        self.archive = archive
        self.evaluationSet = evaluationSet
        self.keepRejectedModels = keepRejectedModels
        self.store = store
    }

    public func spec(for workflow: WorkflowRecord) async throws -> WorkflowSpec {
        WorkflowSpec(
            adapter: "local", baseModel: "base.model-v1", backend: "drill", hyperparameters: ["epochCount": "2"],
            evaluationSet: evaluationSet, jobName: "finetuned-\(workflow.id)", customModelName: "drill-\(workflow.id)",
            throughputName: "finetuned-\(workflow.id)", keepRejectedModels: keepRejectedModels)
    }

    public func backend(named name: String) async throws -> any CustomizationBackend { backend }
    public func codec(for spec: WorkflowSpec) async throws -> any InvocationCodec { DocumentCodec() }
    public var evaluator: any WorkflowEvaluator { OverlapEvaluator() }
    public func archiveFolder(for workflowID: String) -> String { archive + "/" + workflowID }
    public func notificationChannels() async -> [String] { ["log"] }
    public func extraTags() async -> [String: String] { ["team": "ml"] }
    public func notificationsQueued() async {}
    public func stageChanged() async {}
    public func engineWentIdle() async { idleReports.add() }
    public func writeReport(record: WorkflowRecord, outcome: WorkflowMachine.Outcome, trainingLoss: [EpochMetrics]) async -> String? {
        guard
            let request = try? await ReportRequest.gather(
                record: record, outcome: outcome, trainingLoss: trainingLoss, archiveFolder: archiveFolder(for: record.id), store: store)
        else { return nil }
        return try? ReportWriter.write(request)
    }
}

/// A count that callbacks on any thread add to and a test reads.
public final class Tally: Sendable {
    private let count = Mutex(0)
    public init() {}
    public func add() { count.withLock { $0 += 1 } }
    public var value: Int { count.withLock { $0 } }
}

/// The local adapter's body shape, without the plugin.
struct DocumentCodec: InvocationCodec {
    func requestBody(prompt: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: ["document": prompt]), as: UTF8.self)
    }

    func response(body: String) throws -> InvocationResponse {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], let summary = object["summary"] as? String
        else {
            throw CocoaError(.coderReadCorrupt)
        }
        return InvocationResponse(text: summary)
    }
}

/// Word-overlap F1 per prompt, decided by the real bootstrap rule (few prompts suffice).
struct OverlapEvaluator: WorkflowEvaluator {
    func plan(evaluationSet: String, trainingFile: String) async throws -> EvaluationPlan {
        let items = try EvaluationSet.load(path: evaluationSet)
        return EvaluationPlan(
            prompts: items.map { EvaluationPrompt(line: $0.line, prompt: $0.prompt, reference: $0.reference) },
            leaked: 0, source: evaluationSet)
    }

    static func f1(_ candidate: String, _ reference: String) -> Double {
        func words(_ s: String) -> Set<String> { Set(s.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)) }
        let c = words(candidate), r = words(reference)
        guard !c.isEmpty, !r.isEmpty else { return 0 }
        let common = Double(c.intersection(r).count)
        let p = common / Double(c.count), rec = common / Double(r.count)
        return p + rec == 0 ? 0 : 2 * p * rec / (p + rec)
    }

    func evaluate(plan: EvaluationPlan, base: [String?], custom: [String?]) async throws -> EvaluationResult {
        let usable = plan.prompts.indices.filter { base[$0] != nil && custom[$0] != nil }
        let scores = usable.map {
            EvaluationResult.PromptScore(
                index: $0, baseF1: Self.f1(base[$0]!, plan.prompts[$0].reference),
                customF1: Self.f1(custom[$0]!, plan.prompts[$0].reference))
        }
        let d = DecisionRule(minImprovement: 0, confidence: 0.95, resamples: 2000, minPrompts: 4)
            .decide(base: scores.map(\.baseF1), custom: scores.map(\.customF1))
        return EvaluationResult(
            summary: ScoreSummary(
                verdict: d.verdict.rawValue, reason: d.reason, prompts: d.prompts, excludedUnanswered: plan.prompts.count - usable.count,
                excludedLeaked: plan.leaked, meanBaseF1: d.meanBase, meanCustomF1: d.meanCustom, confidenceLow: d.confidenceLow,
                confidenceHigh: d.confidenceHigh, winShare: d.winShare), perPrompt: scores)
    }
}
