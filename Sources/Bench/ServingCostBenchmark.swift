import FinetunedConfig
import FinetunedScriptedBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging

/// What serving a custom model for its evaluation bills by the hour: the throughput-seconds
/// of one workflow, from the throughput's creation to its deletion, with every answer taking
/// `latency` (the scripted backend's `invoke_delay_ms`) and `concurrency` answers in flight.
///
/// The peer is the seed workflow's shape, measured in the same run against the same backend:
/// a throughput created, a fixed 1,000 s wait, every prompt asked one at a time, then scoring.
/// Served on demand (a custom model deployment: Nova, Llama 3.3 70B) there is no throughput at
/// all, so no hour is billed.
enum ServingCostBenchmark {
    static func run(prompts: Int = 48, latencyMilliseconds: Int = 200, concurrency: Int = 4) async throws {
        let fixture = try EngineFixture(prompts: prompts)
        defer { fixture.directory.remove() }
        var policy = EngineFixture.fast
        policy.jobPoll = Backoff(initial: .milliseconds(10), maximum: .milliseconds(10))
        policy.throughputPoll = policy.jobPoll
        var script = ScriptSettings()
        script.jobPolls = 1
        script.throughputPolls = 1
        script.invokeDelayMilliseconds = latencyMilliseconds
        script.invokeConcurrency = concurrency
        script.customAnswers = "worse"  // not kept: the throughput is deleted, its lifetime ends
        let backend = ScriptedBackend(name: "bench", script: script)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let engine = WorkflowEngine(
            store: fixture.store, environment: BenchEnvironment(inner: fixture.environment, backend: backend),
            policy: policy, logger: logger)
        let id = try await fixture.addValidated()
        await engine.schedule()
        await engine.idle()
        guard let throughput = try await fixture.store.resources(workflowID: id).first(where: { $0.kind == .throughput }),
            let deleted = throughput.deletedAt
        else {
            print("serving cost: the workflow left no deleted throughput (\(try await fixture.store.workflow(id: id)?.failure ?? "?"))")
            return
        }
        let ours = deleted.timeIntervalSince(throughput.createdAt)
        let events = try await fixture.store.events(workflowID: id)
        let scoring = zip(events, events.dropFirst()).first { $0.1.stage == .scored }.map { $0.1.at.timeIntervalSince($0.0.at) } ?? 0

        // The seed's shape: both models' answers one at a time, on the same backend.
        let codec = try await fixture.environment.codec(
            for: try await fixture.environment.spec(for: try require(try await fixture.store.workflow(id: id))))
        let body = try codec.requestBody(prompt: "The export fails on Fridays. Support traced it to the batch window.")
        let clock = ContinuousClock()
        let sequential = try await clock.measure {
            for _ in 0..<(2 * prompts) { _ = try await backend.invoke(modelID: "base", body: body) }
        }.seconds
        let seed = 1000 + sequential + scoring
        print("serving cost of one workflow, \(prompts) prompts per model, \(latencyMilliseconds) ms per answer (scripted backend):")
        print(
            String(
                format: "  finetuned, provisioned throughput: %.1f throughput-seconds (%d answers in flight, polled until in service)", ours,
                concurrency))
        print(
            String(
                format: "  seed's shape:                      %.1f throughput-seconds (1,000 s wait + %.1f s asking one at a time + %.1f s scoring)",
                seed, sequential, scoring))
        print("  finetuned, served on demand:       0 throughput-seconds (a custom model deployment, billed per token)")
    }
}

private struct MissingRecord: Error {}

private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw MissingRecord() }
    return value
}
