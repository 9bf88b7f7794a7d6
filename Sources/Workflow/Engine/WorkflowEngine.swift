import FinetunedTime
import Foundation
import Logging

/// Runs every workflow that is not finished and that this node may drive, one runner task
/// each, within the cost guards, which hold across every node sharing the store: at most
/// `maxConcurrentWorkflows` started at once (a workflow already started always runs, so
/// nothing it created is left unattended), at most `maxLiveThroughputs` provisioned
/// throughputs and `maxLiveDeployments` deployments alive.
///
/// On a store only this daemon uses it owns no timers: with nothing in flight it does nothing
/// until `schedule()` is called (a new drop was validated) or an operator asks for something.
/// On a shared store `coordinate()` wakes it every third of a lease (see there).
public actor WorkflowEngine: RunnerCoordination {
    let store: any WorkflowStore
    let environment: any WorkflowEnvironment
    private(set) var policy: EnginePolicy
    let logger: Logger
    private var runners: [String: Task<Void, Never>] = [:]
    /// The lease each runner drives under, renewed by `coordinate()`.
    private var leases: [String: WorkflowLease] = [:]
    /// Workflows an operator request is changing; the scheduler leaves them alone meanwhile.
    private var paused: Set<String> = []
    /// Workflows whose last runner found them driven elsewhere or refused admission: left
    /// alone until the next coordination pass or poke, so a refusal is not retried in a loop.
    private var parked: Set<String> = []
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
        parked.removeAll()
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

    /// Starts (or resumes) runners for the workflows this node may drive, within the limits.
    public func schedule() async {
        guard !stopped else { return }
        let drivable: DrivableWorkflows
        do {
            drivable = try await store.drivableWorkflows(in: Self.driven)
        } catch {
            logger.error("cannot read the workflows to run: \(error)")
            return
        }
        let idle = drivable.workflows.filter { runners[$0.id] == nil && !paused.contains($0.id) && !parked.contains($0.id) }
        for workflow in idle where workflow.started || workflow.stage != .validated { launch(workflow.id) }
        // Runners of this node about to start count as started: they soon will be.
        var admitted = drivable.started + drivable.workflows.filter { !$0.started && $0.stage == .validated && runners[$0.id] != nil }.count
        for workflow in idle where !workflow.started && workflow.stage == .validated && runners[workflow.id] == nil {
            guard admitted < policy.maxConcurrentWorkflows else {
                logger.info(
                    "workflow \(workflow.id) waits: \(admitted) workflows running (max_concurrent_workflows = \(policy.maxConcurrentWorkflows))",
                    metadata: ["workflow_id": "\(workflow.id)", "stage": "validated"])
                break
            }
            launch(workflow.id)
            admitted += 1
        }
    }

    private func launch(_ id: String) {
        let runner = WorkflowRunner(id: id, store: store, environment: environment, policy: policy, slots: self, logger: logger)
        runners[id] = Task {
            let exit = await runner.run()
            await self.ended(id, exit)
        }
    }

    private func ended(_ id: String, _ exit: RunnerExit) async {
        runners[id] = nil
        let lease = leases.removeValue(forKey: id)
        switch exit {
        case .finished, .stopped, .troubled:
            for kind in [ResourceRecord.Kind.throughput, .deployment] { try? await store.releaseServing(kind, workflowID: id) }
            // Another node may take it at once (a graceful stop) rather than after the lease.
            if let lease { try? await store.releaseLease(lease) }
        case .drivenElsewhere, .leaseLost, .admissionFull:
            parked.insert(id)
        }
        await schedule()
        if runners.isEmpty { await environment.engineWentIdle() }
    }

    func holds(_ lease: WorkflowLease) async { leases[lease.workflowID] = lease }

    /// Keeps this node's part on a shared store until cancelled: every third of a lease it
    /// renews the leases its runners hold (stopping a runner whose lease another node took),
    /// records its heartbeat, takes over the workflows whose lease expired, and has the
    /// outbox look for notifications a stopped node left. On a store only this daemon uses
    /// it records the heartbeat once and returns: leases there never expire, so an idle
    /// daemon keeps no timer.
    public func coordinate(version: String, startedAt: Date) async {
        await heartbeat(version: version, startedAt: startedAt)
        guard store.isShared else { return }
        while !Task.isCancelled {
            do { try await Timers.sleep(for: policy.lease / 3) } catch { return }
            await heartbeat(version: version, startedAt: startedAt)
            await renewLeases()
            parked.removeAll()
            await schedule()
            await environment.notificationsQueued()
        }
    }

    private func heartbeat(version: String, startedAt: Date) async {
        do { try await store.heartbeat(version: version, startedAt: startedAt) } catch {
            logger.error("cannot record this node's heartbeat: \(error)")
        }
    }

    private func renewLeases() async {
        let held = Array(leases.values)
        guard !held.isEmpty else { return }
        let lost: [WorkflowLease]
        do { lost = try await store.renewLeases(held, duration: policy.lease) } catch {
            // Not renewed: other nodes may take these over once they expire, and this node's
            // writes for them are then refused. Nothing is paid twice either way.
            logger.error("cannot renew \(held.count) leases: \(error)")
            return
        }
        for lease in lost where leases[lease.workflowID] == lease {
            logger.warning(
                "workflow \(lease.workflowID): another node took its lease (this node held lease \(lease.epoch)); stopping its runner",
                metadata: ["workflow_id": "\(lease.workflowID)", "node": "\(lease.node)", "lease_epoch": "\(lease.epoch)"])
            runners[lease.workflowID]?.cancel()
        }
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
            // The request takes the workflow from whichever node drives it: that node's runner
            // can commit nothing from now on, and stops at its next write or renewal.
            let lease: WorkflowLease
            switch try await store.acquireLease(workflowID: id, duration: policy.lease, takeOver: true) {
            case .acquired(let taken, _): lease = taken
            case .notFound: throw RequestError.notFound(id)
            case .pinned(let node):
                throw RequestError.refused(
                    "workflow \(id) runs on node \(node) only (its training data is not uploaded yet, or its backend trains on that host): ask finetuned there"
                )
            case .held(let node, _): throw RequestError.refused("workflow \(id) is held by node \(node)")
            case .busy: throw RequestError.refused("workflow \(id) is being changed by another node; ask again")
            }
            guard let record = try await store.workflow(id: id) else { throw RequestError.notFound(id) }
            var machine = WorkflowMachine(stage: record.stage, context: record.context)
            let message = try change(&machine)
            let next = try await store.advance(
                WorkflowStep(
                    id: id, from: record.stage, to: machine.stage, context: machine.context, kind: kind, message: message,
                    failure: machine.stage == .cancelling ? machine.context.failureReason : nil, lease: lease))
            try? await store.releaseLease(lease)
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

    /// A slot lasts until the runner ends, by which time the store records the throughput or
    /// deployment; the store counts owners (live resources ∪ slots of unfinished workflows)
    /// across every node, so it never counts one twice nor misses one created between a read
    /// and a commit. Throughputs and deployments have limits of their own
    /// (`max_live_throughputs`, `max_live_deployments`).
    func reserveServing(_ kind: ResourceRecord.Kind, for workflowID: String) async -> Bool {
        let limit = kind == .deployment ? policy.maxLiveDeployments : policy.maxLiveThroughputs
        do { return try await store.reserveServing(kind, workflowID: workflowID, limit: limit) } catch {
            logger.error("cannot reserve a \(kind.words) slot for \(workflowID): \(error)", metadata: ["workflow_id": "\(workflowID)"])
            return false
        }
    }

    func releaseServing(_ kind: ResourceRecord.Kind, for workflowID: String) async {
        try? await store.releaseServing(kind, workflowID: workflowID)
    }
}
