import FinetunedConfig
import FinetunedControl
import FinetunedWorkflow
import Foundation
import Logging
import ServiceLifecycle

/// Runs the engine as a service of the group: every unfinished workflow this node may drive
/// resumes, then readiness, then the janitor's pass (its deletions talk to the service and
/// must not hold up `systemctl start`; one node at a time runs it) beside the engine's part
/// in the shared store (`WorkflowEngine.coordinate`); at shutdown every runner stops between
/// steps and its workflow resumes at the next start, or on another node.
struct EngineService: Service, CustomStringConvertible {
    /// The name the service group logs it by; interpolating the struct itself would reflect over
    /// every field (configuration included).
    var description: String { "engine" }

    let engine: WorkflowEngine
    let janitor: Janitor
    let store: any WorkflowStore
    let logger: Logger
    let ready: @Sendable () async -> Void

    func run() async throws {
        await engine.schedule()
        await ready()
        let startedAt = Date()
        await withDiscardingTaskGroup { group in
            group.addTask { await engine.coordinate(version: FinetunedVersion.current, startedAt: startedAt) }
            _ = await cancelWhenGracefulShutdown {
                do {
                    if try await !store.exclusively(.janitor, { await janitor.run() }) {
                        logger.info("janitor: another node is running it; this node's pass is skipped")
                    }
                } catch {
                    logger.error("janitor: \(error)")
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
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
            notFoundGrace: e.notFoundGrace, maxLiveDeployments: l.maxLiveDeployments, lease: configuration.store?.lease ?? .seconds(30))
    }
}
