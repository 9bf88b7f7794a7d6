import FinetunedFaults
import FinetunedTime
import Foundation
import Logging

/// The engine's side of a runner: the decisions a runner cannot take alone (whether another
/// provisioned throughput or deployment may be created now) and the lease it drives under,
/// which the engine renews.
protocol RunnerCoordination: Sendable {
    func reserveServing(_ kind: ResourceRecord.Kind, for workflowID: String) async -> Bool
    func releaseServing(_ kind: ResourceRecord.Kind, for workflowID: String) async
    func holds(_ lease: WorkflowLease) async
}

/// Why a runner ended; the engine decides from it what to do next.
enum RunnerExit: Sendable, Equatable {
    /// The workflow reached a terminal stage, or is gone.
    case finished
    /// Cancelled between steps (shutdown, an operator's request).
    case stopped
    /// The store kept failing; the workflow resumes after a pause.
    case troubled
    /// Another node holds the lease, or the workflow runs on another node only.
    case drivenElsewhere
    /// Another node took the lease while this runner drove: nothing more was committed.
    case leaseLost
    /// Starting it would exceed `max_concurrent_workflows` across the nodes.
    case admissionFull
}

/// Drives one workflow from wherever the store says it is to a terminal stage, one action
/// at a time: perform the machine's pending action, commit the resulting event durably, and
/// only then go on. A crash anywhere leaves the store at the last committed step, and every
/// action is safe to perform again from there.
///
/// A runner first takes the workflow's lease; every write it makes carries that lease, so once
/// another node has taken the workflow over (this node was paused or cut off past the lease),
/// nothing this runner does afterwards is recorded.
///
/// Cancellation of the task (shutdown, an operator's cancel) is honoured between steps and
/// during waits; the workflow resumes from the store the next time a runner starts.
struct WorkflowRunner: Sendable {
    let id: String
    let store: any WorkflowStore
    let environment: any WorkflowEnvironment
    let policy: EnginePolicy
    let slots: any RunnerCoordination
    let logger: Logger
    /// Set once the lease is taken (`run`); every write carries it.
    private(set) var lease: WorkflowLease?
    /// The node whose lease this runner's replaced: a take-over.
    private(set) var takenFrom: NodeID?

    init(
        id: String, store: any WorkflowStore, environment: any WorkflowEnvironment, policy: EnginePolicy, slots: any RunnerCoordination,
        logger: Logger
    ) {
        self.id = id
        self.store = store
        self.environment = environment
        self.policy = policy
        self.slots = slots
        self.logger = logger
    }

    /// What a runner remembers between steps; lost on restart, rebuilt from the store.
    struct Memory {
        var plan: EvaluationPlan?
        /// Consecutive failures of the current action.
        var failures = 0
        /// Polls since the status last changed.
        var polls = 0
        var waitingForSlot = false
        var cleanupAlarmRaised = false
    }

    func run() async -> RunnerExit {
        let attempt: LeaseAttempt
        do {
            attempt = try await store.acquireLease(workflowID: id, duration: policy.lease)
        } catch {
            logger.error("workflow \(id): cannot take its lease: \(error); trying again shortly", metadata: ["workflow_id": "\(id)"])
            try? await Timers.sleep(for: policy.retry.maximum)
            return .troubled
        }
        switch attempt {
        case .notFound: return .finished
        case .held(let node, let remaining):
            logger.debug(
                "workflow \(id) is driven by node \(node) (lease for \(Int(remaining)) s more)", metadata: ["workflow_id": "\(id)"])
            return .drivenElsewhere
        case .pinned(let node):
            logger.debug("workflow \(id) runs on node \(node) only", metadata: ["workflow_id": "\(id)"])
            return .drivenElsewhere
        case .busy:
            logger.debug("workflow \(id) is being taken or moved by another node", metadata: ["workflow_id": "\(id)"])
            return .drivenElsewhere
        case .acquired(let lease, let from):
            await slots.holds(lease)
            var leased = self
            leased.lease = lease
            leased.takenFrom = from
            return await leased.drive()
        }
    }

    private func drive() async -> RunnerExit {
        do {
            try await loop()
            return .finished
        } catch is CancellationError {
            logger.debug("workflow runner stopped", metadata: ["workflow_id": "\(id)"])
            return .stopped
        } catch StoreError.leaseLost(let lease, let holder, let epoch) {
            // Whatever this runner was about to record, the node now holding the lease redoes
            // from the last step committed: every action is safe to repeat.
            logger.warning(
                "workflow \(id): lost its lease \(lease.epoch) to \(holder.map { "node \($0)" } ?? "nobody") (lease \(epoch)); nothing more is committed from this node",
                metadata: [
                    "workflow_id": "\(id)", "node": "\(lease.node)", "lease_epoch": "\(lease.epoch)",
                    "lease_holder": "\(holder?.rawValue ?? "")", "lease_holder_epoch": "\(epoch)",
                ])
            return .leaseLost
        } catch StoreError.admissionFull(let limit) {
            logger.info(
                "workflow \(id) waits: \(limit) workflows are running across the nodes (max_concurrent_workflows = \(limit))",
                metadata: ["workflow_id": "\(id)", "stage": "validated"])
            return .admissionFull
        } catch {
            // The scheduler starts the workflow again when this runner ends; pause first so a
            // store that keeps failing is retried at the backoff's pace, not in a tight loop.
            logger.error("workflow \(id) stopped: \(ErrorWords.of(error)); it resumes shortly", metadata: ["workflow_id": "\(id)"])
            try? await Timers.sleep(for: policy.retry.maximum)
            return .troubled
        }
    }

    private func loop() async throws {
        guard var record = try await store.workflow(id: id) else { return }
        var memory = Memory()
        if let takenFrom, let lease, !record.stage.isTerminal {
            try await store.appendEvent(
                WorkflowEvent(
                    workflowID: id, stage: record.stage, kind: .resumed,
                    message:
                        "taken over from node \(takenFrom) in \(record.stage.rawValue) (attempt \(record.context.attempt), lease \(lease.epoch))"),
                lease: lease)
            log(
                record, "workflow taken over from node \(takenFrom) in \(record.stage.rawValue)", level: .notice,
                extra: ["taken_over_from": "\(takenFrom)", "lease_epoch": "\(lease.epoch)"])
        } else if !record.stage.isTerminal && record.stage != .validated {
            try await store.appendEvent(
                WorkflowEvent(
                    workflowID: id, stage: record.stage, kind: .resumed,
                    message: "resumed in \(record.stage.rawValue) (attempt \(record.context.attempt))"),
                lease: lease)
            log(record, "workflow resumed in \(record.stage.rawValue)", level: .notice)
        }
        while true {
            try Task.checkCancellation()
            let machine = WorkflowMachine(stage: record.stage, context: record.context)
            guard let action = machine.pendingActions.first else { return }
            do {
                if record.context.spec == nil && record.stage == .validated {
                    record = try await start(record)
                    continue
                }
                let outcome: StepOutcome
                if let guardEvent = costGuard(record) {
                    outcome = guardEvent
                } else {
                    outcome = try await perform(action, record: record, memory: &memory)
                }
                switch outcome {
                case .event(let event, let message, let resources, let notifications):
                    record = try await commit(
                        record, event, message: message, resources: resources, notifications: notifications,
                        evaluationPrompts: memory.plan?.prompts.count, handOver: try await handOver(after: event, record: record, memory: memory))
                    memory.failures = 0
                    memory.polls = 0
                case .wait(let delay):
                    memory.polls += 1
                    try await Timers.sleep(for: delay)
                case .status(let status, let delay):
                    record = try await note(record, status: status)
                    memory.polls = 1
                    try await Timers.sleep(for: delay)
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as StoreError where error.endsRunner {
                throw error
            } catch let error as StoreError {
                // The store is the source of truth: reload and decide again. A full disk or a
                // read-only state directory is retried with backoff; nothing proceeds unrecorded.
                logger.error("workflow \(id): \(error)", metadata: ["workflow_id": "\(id)"])
                memory.failures += 1
                try await Timers.sleep(for: policy.retry.delay(attempt: memory.failures - 1))
                guard let fresh = try? await store.workflow(id: id) else { continue }
                record = fresh
            } catch {
                record = try await handleFailure(error, action: action, record: record, memory: &memory)
            }
        }
    }

    /// Retries what may pass (throttling, 5xx, timeouts) with backoff; fails the step on
    /// what will not, or when the attempts run out. Cleanup never gives up: it keeps trying
    /// and tells the operator once that it is stuck.
    ///
    /// "Not found" for a resource this workflow created is the service's eventual consistency
    /// while the resource is young (`notFoundGrace`), and asked again; later, the resource is
    /// gone (deleted behind the daemon's back) and the step fails saying so.
    private func handleFailure(_ error: any Error, action: WorkflowMachine.Action, record: WorkflowRecord, memory: inout Memory) async throws
        -> WorkflowRecord
    {
        memory.failures += 1
        let backendError = error as? BackendError
        let words = ErrorWords.of(error)
        if case .notFound = backendError, let missing = try await resourceBehind(action, record: record) {
            let age = Date().timeIntervalSince(missing.createdAt)
            guard age < policy.notFoundGrace.seconds else {
                let reason =
                    "the \(missing.kind.words) \(missing.identifier) vanished: the service no longer knows it, "
                    + "\(Int(age)) s after it was created (\(words))"
                memory.failures = 0
                return try await commit(record, .stepFailed(message: reason), message: reason)
            }
            let text =
                "\(action.words(serving: record.context.serving)): the \(missing.kind.words) \(missing.identifier) is not visible yet, \(Int(age)) s after it was created; "
                + "asking again (not_found_grace_seconds = \(Int(policy.notFoundGrace.seconds)))"
            log(record, text, level: .warning)
            try await store.appendEvent(WorkflowEvent(workflowID: id, stage: record.stage, kind: .error, message: text), lease: lease)
            try await Timers.sleep(for: policy.retry.delay(attempt: memory.failures - 1))
            return record
        }
        let retryable = backendError?.isRetryable ?? false
        let cleaning = !WorkflowMachine.interruptible.contains(record.stage)
        let text = "\(action.words(serving: record.context.serving)) failed (attempt \(memory.failures)): \(words)"
        if cleaning || (retryable && memory.failures < policy.stepAttempts) {
            log(record, text, level: .warning)
            if cleaning && memory.failures >= policy.stepAttempts && !memory.cleanupAlarmRaised {
                memory.cleanupAlarmRaised = true
                let alarm = OutboxEntry(
                    workflowID: id, channel: "log", kind: "cleanup_stuck",
                    payload: NotificationFacts.cleanupStuck(record: record, action: action.words(serving: record.context.serving), error: words))
                try await store.enqueue(await NotificationFacts.fanOut(alarm, channels: environment.notificationChannels()))
                await environment.notificationsQueued()
                log(
                    record,
                    "still \(action.words(serving: record.context.serving)) after \(memory.failures) failed attempts; it may cost money until it succeeds: \(words)",
                    level: .error)
            }
            var retryAfter: Duration?
            if case .throttled(_, let after) = backendError { retryAfter = after }
            try await store.appendEvent(WorkflowEvent(workflowID: id, stage: record.stage, kind: .error, message: text), lease: lease)
            try await Timers.sleep(for: policy.retry.delay(attempt: memory.failures - 1, retryAfter: retryAfter))
            return record
        }
        let reason =
            retryable
            ? "\(action.words(serving: record.context.serving)) kept failing (\(memory.failures) attempts): \(words)"
            : "\(action.words(serving: record.context.serving)) failed: \(words)"
        // Cleanup's own attempts count from zero: otherwise its alarm would come late, or never.
        memory.failures = 0
        return try await commit(record, .stepFailed(message: reason), message: reason)
    }

    /// The resource this workflow created that `action` reads: what a "not found" is about.
    /// Stops and deletes are not here: for them "not found" means done (`Removal`).
    private func resourceBehind(_ action: WorkflowMachine.Action, record: WorkflowRecord) async throws -> ResourceRecord? {
        let c = record.context
        let wanted: (ResourceRecord.Kind, String?, Date?)
        switch action {
        case .pollJob: wanted = (.job, c.jobARN, c.jobCreatedAt)
        case .createThroughput: wanted = (.customModel, c.customModelARN, nil)
        case .pollThroughput, .runInference(.custom): wanted = (.throughput, c.throughputARN, c.throughputCreatedAt)
        default: return nil
        }
        guard let identifier = wanted.1 else { return nil }
        if let known = try await store.resources(workflowID: id).first(where: { $0.kind == wanted.0 && $0.identifier == identifier }) {
            return known
        }
        return ResourceRecord(workflowID: id, kind: wanted.0, identifier: identifier, createdAt: wanted.2 ?? record.updatedAt)
    }

    /// An unkept throughput past its lifetime is deleted whatever the workflow is doing. A
    /// deployment costs nothing while idle, so it has no such guard.
    private func costGuard(_ record: WorkflowRecord) -> StepOutcome? {
        let c = record.context
        guard WorkflowMachine.interruptible.contains(record.stage), c.serving == .provisioned, c.throughputARN != nil, !c.throughputDeleted,
            c.keep != true,
            let created = c.throughputCreatedAt, Date().timeIntervalSince(created) > policy.maxUnkeptThroughputAge.seconds
        else { return nil }
        let hours = String(format: "%.1f", policy.maxUnkeptThroughputAge.seconds / 3600)
        return .event(
            .stepFailed(message: "the provisioned throughput was not kept within \(hours) hours (max_unkept_throughput_hours); deleting it"),
            message: "cost guard")
    }

    /// Feeds `event` to the machine and commits the step; the one place a workflow moves.
    func commit(
        _ record: WorkflowRecord, _ event: WorkflowMachine.Event, message: String, kind: WorkflowEvent.Kind = .transition,
        resources: [ResourceChange] = [], notifications: [OutboxEntry] = [], evaluationPrompts: Int? = nil,
        handOver: (pin: WorkflowStep.Pin, plan: EvaluationPlan?)? = nil
    ) async throws -> WorkflowRecord {
        var machine = WorkflowMachine(stage: record.stage, context: record.context)
        do {
            try machine.handle(event)
        } catch {
            // The runner only sends events the pending action can produce; a refusal means the
            // store changed under us (a cancel). Reload and carry on from there.
            logger.warning("workflow \(id): \(error); reloading", metadata: ["workflow_id": "\(id)"])
            return try await store.workflow(id: id) ?? record
        }
        var context = machine.context
        let now = Date()
        if case .jobCreated = event { context.jobCreatedAt = now }
        if case .inferenceStarted = event, let evaluationPrompts { context.evaluationPrompts = evaluationPrompts }
        if machine.stage != record.stage { context.lastServiceStatus = nil }
        let failure = machine.stage == .cleaningUp || machine.stage == .cancelling ? context.failureReason : nil
        let next = try await store.advance(
            WorkflowStep(
                id: id, from: record.stage, to: machine.stage, context: context, kind: kind, message: message,
                failure: failure, resources: resources, notifications: notifications, at: now, lease: lease, pin: handOver?.pin,
                evaluationPlan: handOver?.plan))
        Faults.current.transitionCommitted()
        if !notifications.isEmpty { await environment.notificationsQueued() }
        if machine.stage != record.stage { await environment.stageChanged() }
        let level: Logger.Level =
            switch machine.stage {
            case .failed, .cleaningUp: .error
            case .cancelling, .cancelled: .warning
            default: .notice
            }
        log(next, machine.stage == record.stage ? message : "\(record.stage.rawValue) → \(machine.stage.rawValue): \(message)", level: level)
        return next
    }

    /// Once the training data is uploaded, nothing the workflow needs is on this node alone:
    /// the step records the held-out prompts and lets any node drive it from there, unless its
    /// backend trains on this host.
    private func handOver(after event: WorkflowMachine.Event, record: WorkflowRecord, memory: Memory) async throws -> (
        pin: WorkflowStep.Pin, plan: EvaluationPlan?
    )? {
        guard case .uploaded = event, let spec = record.context.spec else { return nil }
        let local = try await environment.backend(named: spec.backend).trainsOnThisHost
        return (local ? .here : .anywhere, memory.plan)
    }

    /// Records a status change reported by the service, without a stage change.
    private func note(_ record: WorkflowRecord, status: String) async throws -> WorkflowRecord {
        var context = record.context
        context.lastServiceStatus = status
        let next = try await store.advance(
            WorkflowStep(
                id: id, from: record.stage, to: record.stage, context: context,
                kind: .poll, message: "service status: \(status)", lease: lease))
        log(next, "service status: \(status)", level: .info, extra: ["service_status": "\(status)"])
        return next
    }

    func log(_ record: WorkflowRecord, _ message: String, level: Logger.Level, extra: Logger.Metadata = [:]) {
        var metadata: Logger.Metadata = [
            "workflow_id": "\(record.id)", "profile": "\(record.profile)", "stage": "\(record.stage.rawValue)",
            "elapsed_seconds": "\(Int(Date().timeIntervalSince(record.createdAt)))", "attempt": "\(record.context.attempt)",
        ]
        if let status = record.context.lastServiceStatus { metadata["service_status"] = "\(status)" }
        metadata.merge(extra) { _, new in new }
        logger.log(level: level, "\(record.profile)/\(record.dropName): \(message)", metadata: metadata)
    }
}
