import Foundation
import Logging

/// Runs every workflow that is not finished, one runner task each, within the cost guards:
/// at most `maxConcurrentWorkflows` started at once (a workflow already past `validated`
/// always runs, so nothing it created is left unattended) and at most `maxLiveThroughputs`
/// provisioned throughputs alive.
///
/// It owns no timers: with nothing in flight it does nothing until `schedule()` is called
/// (a new drop was validated) or an operator asks for something.
public actor WorkflowEngine: ServingSlots {
    let store: any WorkflowStore
    let environment: any WorkflowEnvironment
    private(set) var policy: EnginePolicy
    let logger: Logger
    private var runners: [String: Task<Void, Never>] = [:]
    /// Workflows an operator request is changing; the scheduler leaves them alone meanwhile.
    private var paused: Set<String> = []
    private var reservations: [ResourceRecord.Kind: Set<String>] = [:]
    private var stopped = false

    public init(
        store: any WorkflowStore, environment: any WorkflowEnvironment, policy: EnginePolicy, logger: Logger
    ) {
        self.store = store
        self.environment = environment
        self.policy = policy
        self.logger = logger
    }

    public enum RequestError: Error, Sendable, Equatable, CustomStringConvertible {
        case notFound(String)
        case refused(String)
        case store(String)

        public var description: String {
            switch self {
            case .notFound(let id): "no workflow \(id)"
            case .refused(let why): why
            case .store(let message): message
            }
        }
    }

    /// Stages a runner drives: everything from `validated` until a terminal stage.
    static let driven: Set<WorkflowStage> = Set(WorkflowStage.allCases.filter { !$0.isTerminal && $0 != .claiming && $0 != .claimed })

    private var scheduling = false
    private var scheduleAgain = false

    /// Asks for a `schedule()` without waiting for it (the inbox, after each drop). Pokes that
    /// arrive while one runs are folded into one more pass, so none is lost and a burst of
    /// drops costs a few passes, not one each.
    public nonisolated func poke() {
        Task { await self.coalescedSchedule() }
    }

    private func coalescedSchedule() async {
        if scheduling {
            scheduleAgain = true
            return
        }
        scheduling = true
        repeat {
            scheduleAgain = false
            await schedule()
        } while scheduleAgain
        scheduling = false
    }

    /// Starts (or resumes) runners for the workflows waiting, within the limits.
    public func schedule() async {
        guard !stopped else { return }
        let waiting: [(id: String, stage: WorkflowStage)]
        do {
            waiting = try await store.workflowStages(in: Self.driven)
        } catch {
            logger.error("cannot read the workflows to run: \(error)")
            return
        }
        for record in waiting where record.stage != .validated && runners[record.id] == nil && !paused.contains(record.id) {
            launch(record.id)
        }
        for record in waiting where record.stage == .validated && runners[record.id] == nil && !paused.contains(record.id) {
            guard runners.count < policy.maxConcurrentWorkflows else {
                logger.info(
                    "workflow \(record.id) waits: \(runners.count) workflows running (max_concurrent_workflows = \(policy.maxConcurrentWorkflows))",
                    metadata: ["workflow_id": "\(record.id)", "stage": "validated"])
                break
            }
            launch(record.id)
        }
    }

    private func launch(_ id: String) {
        let runner = WorkflowRunner(id: id, store: store, environment: environment, policy: policy, slots: self, logger: logger)
        runners[id] = Task {
            await runner.run()
            await self.ended(id)
        }
    }

    private func ended(_ id: String) async {
        runners[id] = nil
        for kind in reservations.keys { reservations[kind]?.remove(id) }
        await schedule()
        if runners.isEmpty { await environment.engineWentIdle() }
    }

    /// Cancels a workflow: a running job is stopped, a throughput deleted, the custom model
    /// deleted (unless the profile keeps rejected models), and the workflow ends cancelled.
    /// A failed workflow that kept its custom model for retry gives it up.
    public func cancel(_ id: String) async throws(RequestError) -> WorkflowRecord {
        try await intervene(id, kind: .cancel) { machine throws(RequestError) in
            guard WorkflowMachine.interruptible.contains(machine.stage) || machine.stage == .failed else {
                throw .refused(
                    "workflow \(id) is \(machine.stage.rawValue): "
                        + (machine.stage.isTerminal
                            ? "it has finished" : "the decision is taken and its remaining steps run to the end"))
            }
            do { try machine.handle(.cancelRequested) } catch {
                throw .refused("workflow \(id) failed and has nothing left to delete: it is already finished")
            }
            return "cancelled by an operator"
        }
    }

    /// Runs a failed workflow again from the step that failed (see `WorkflowMachine.retry`).
    public func retry(_ id: String) async throws(RequestError) -> WorkflowRecord {
        try await intervene(id, kind: .retry) { machine throws(RequestError) in
            let failedAt = machine.context.failedStage?.rawValue ?? "unknown"
            do { try machine.retry() } catch {
                throw .refused("workflow \(id) is \(machine.stage.rawValue); only failed workflows can be retried")
            }
            return "retry requested (attempt \(machine.context.attempt), failed in \(failedAt)); resuming in \(machine.stage.rawValue)"
        }
    }

    /// Stops the workflow's runner, applies `change` to what the store holds, commits it,
    /// and lets the scheduler pick the workflow up again.
    private func intervene(
        _ id: String, kind: WorkflowEvent.Kind,
        _ change: (inout WorkflowMachine) throws(RequestError) -> String
    ) async throws(RequestError) -> WorkflowRecord {
        paused.insert(id)
        defer { paused.remove(id) }
        if let runner = runners[id] {
            runner.cancel()
            await runner.value
        }
        do {
            guard let record = try await store.workflow(id: id) else { throw RequestError.notFound(id) }
            var machine = WorkflowMachine(stage: record.stage, context: record.context)
            let message = try change(&machine)
            let next = try await store.advance(
                WorkflowStep(
                    id: id, from: record.stage, to: machine.stage, context: machine.context, kind: kind, message: message,
                    failure: machine.stage == .cancelling ? machine.context.failureReason : nil))
            await environment.stageChanged()
            logger.notice(
                "\(record.profile)/\(record.dropName): \(message)",
                metadata: [
                    "workflow_id": "\(id)", "profile": "\(record.profile)", "stage": "\(next.stage.rawValue)",
                ])
            paused.remove(id)
            await schedule()
            return next
        } catch let error as RequestError {
            await schedule()
            throw error
        } catch {
            await schedule()
            throw .store("\(error)")
        }
    }

    /// Applies new limits and timings (a reload): runners started afterwards use them, and
    /// a raised concurrency limit starts waiting workflows at once.
    public func update(policy: EnginePolicy) async {
        self.policy = policy
        await schedule()
    }

    /// Stops every runner (at shutdown); their workflows resume at the next start.
    public func shutdown() async {
        stopped = true
        let tasks = Array(runners.values)
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Waits until no runner is active (tests and benchmarks).
    public func idle() async {
        while let task = runners.values.first { await task.value }
    }

    /// A reservation lasts until the runner ends, by which time the store records the
    /// throughput or deployment; counting owners (store ∪ reservations) never counts one twice
    /// nor misses one created between a store read and a commit. Throughputs and deployments
    /// have limits of their own (`max_live_throughputs`, `max_live_deployments`).
    func reserveServing(_ kind: ResourceRecord.Kind, for workflowID: String) async -> Bool {
        if reservations[kind, default: []].contains(workflowID) { return true }
        guard let live = try? await store.liveResources(kind: kind) else { return false }
        let owners = Set(live.map(\.workflowID)).union(reservations[kind, default: []])
        let limit = kind == .deployment ? policy.maxLiveDeployments : policy.maxLiveThroughputs
        guard owners.contains(workflowID) || owners.count < limit else { return false }
        reservations[kind, default: []].insert(workflowID)
        return true
    }

    func releaseServing(_ kind: ResourceRecord.Kind, for workflowID: String) async {
        reservations[kind]?.remove(workflowID)
    }
}
