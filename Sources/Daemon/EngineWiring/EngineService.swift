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
            jobPoll: Backoff(initial: .fractionalSeconds(e.jobPollSeconds), maximum: .fractionalSeconds(e.maxPollSeconds)),
            throughputPoll: Backoff(initial: .fractionalSeconds(e.throughputPollSeconds), maximum: .fractionalSeconds(e.maxPollSeconds)),
            retry: Backoff(initial: .fractionalSeconds(e.retryBaseSeconds), maximum: .fractionalSeconds(e.retryMaxSeconds)),
            stepAttempts: e.stepAttempts, trainingDeadline: .fractionalSeconds(e.trainingDeadlineHours * 3600),
            throughputDeadline: .fractionalSeconds(e.throughputDeadlineMinutes * 60), invokeTimeout: .fractionalSeconds(e.invokeTimeoutSeconds),
            invokeAttempts: e.invokeAttempts, maxConcurrentWorkflows: l.maxConcurrentWorkflows,
            maxLiveThroughputs: l.maxLiveThroughputs, maxUnkeptThroughputAge: .fractionalSeconds(l.maxUnkeptThroughputHours * 3600),
            notFoundGrace: .fractionalSeconds(e.notFoundGraceSeconds), maxLiveDeployments: l.maxLiveDeployments)
    }
}
