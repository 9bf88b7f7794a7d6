import FinetunedConfig
import FinetunedWorkflow
import Logging
import ServiceLifecycle

/// Runs the engine as a service of the group: every unfinished workflow resumes, then
/// readiness, then the janitor's pass (its deletions talk to the service and must not hold
/// up `systemctl start`); at shutdown every runner stops between steps and its workflow
/// resumes at the next start.
struct EngineService: Service, CustomStringConvertible {
    /// The name the service group logs it by; interpolating the struct itself would reflect over
    /// every field (configuration included).
    var description: String { "engine" }

    let engine: WorkflowEngine
    let janitor: Janitor
    let ready: @Sendable () async -> Void

    func run() async throws {
        await engine.schedule()
        await ready()
        _ = await cancelWhenGracefulShutdown { await janitor.run() }
        try? await gracefulShutdown()
        await engine.shutdown()
    }
}

extension EnginePolicy {
    init(_ configuration: DaemonConfiguration) {
        let e = configuration.engine, l = configuration.limits
        self.init(
            jobPoll: Backoff(initial: e.jobPoll, maximum: e.maxPoll),
            throughputPoll: Backoff(initial: e.throughputPoll, maximum: e.maxPoll),
            retry: Backoff(initial: e.retryBase, maximum: e.retryMax),
            stepAttempts: e.stepAttempts, trainingDeadline: e.trainingDeadline,
            throughputDeadline: e.throughputDeadline, invokeTimeout: e.invokeTimeout,
            invokeAttempts: e.invokeAttempts, maxConcurrentWorkflows: l.maxConcurrentWorkflows,
            maxLiveThroughputs: l.maxLiveThroughputs, maxUnkeptThroughputAge: l.maxUnkeptThroughputAge,
            notFoundGrace: e.notFoundGrace, maxLiveDeployments: l.maxLiveDeployments)
    }
}
