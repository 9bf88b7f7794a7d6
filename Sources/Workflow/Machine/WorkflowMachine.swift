import Foundation

/// The workflow as a pure state machine: `handle(event)` moves the stage and returns the
/// actions to perform. No I/O here; the executor performs the actions against a backend and
/// the store, and feeds their outcomes back as events. Every transition is unit-tested.
///
/// Invariant: whatever path a workflow takes to a terminal stage, every paid resource it
/// created (a running job, a provisioned throughput, a custom model that is not wanted) has
/// been stopped or deleted first. Failure and cancellation go through `cleaningUp`.
public struct WorkflowMachine: Sendable, Equatable {
    public private(set) var stage: WorkflowStage
    public private(set) var context: WorkflowContext

    public init(stage: WorkflowStage = .validated, context: WorkflowContext = WorkflowContext()) {
        self.stage = stage
        self.context = context
    }

    public enum Model: String, Sendable, Equatable, Codable { case base, custom }

    public enum Event: Sendable, Equatable {
        case uploaded(uri: String, validationURI: String? = nil)
        case jobCreated(arn: String)
        case jobInProgress
        case jobCompleted(customModelARN: String)
        /// The job ended `Failed` or `Stopped`, with the service's message.
        case jobEnded(status: String, message: String)
        case throughputCreated(arn: String, at: Date)
        case throughputCreating
        /// In service (a throughput) or active (a deployment) since `at`: hourly billing counts from here.
        case throughputInService(at: Date)
        case throughputFailed(message: String)
        case inferenceStarted(Model)
        case inferenceFinished(Model)
        case scored(ScoreSummary)
        case decided(keep: Bool, reason: String)
        case throughputDeleted
        case customModelDeleted
        case jobStopped
        case notified
        /// The workflow's files are archived and its spool released.
        case finished
        /// A step failed in a way retries cannot fix (validation, access, quota, a deadline).
        case stepFailed(message: String)
        case cancelRequested
        /// Only for `TransitionError`: `retry()` was called outside `failed`.
        case retryRequested
    }

    public enum Action: Sendable, Equatable {
        case upload
        case createJob
        case pollJob
        case stopJob
        case createThroughput
        case pollThroughput
        case runInference(Model)
        case score
        case decide
        case deleteThroughput
        case deleteCustomModel
        case notify(Outcome)
        case finish
    }

    /// What the final notification reports.
    public enum Outcome: String, Sendable, Equatable, Codable {
        case kept, notKept = "not_kept", failed, cancelled
    }

    public struct TransitionError: Error, Sendable, Equatable, CustomStringConvertible {
        public var stage: WorkflowStage
        public var event: Event
        public var description: String { "event \(event) is not valid in stage \(stage.rawValue)" }
    }

    /// What to do on entering the current stage (and on resuming in it after a restart).
    public var pendingActions: [Action] {
        switch stage {
        case .claiming, .claimed, .rejected: []
        case .validated: [.upload]
        case .uploaded: [.createJob]
        case .jobCreated, .training: [.pollJob]
        case .jobCompleted: [.createThroughput]
        case .throughputCreating: [.pollThroughput]
        case .inService, .baseInference: [.runInference(.base)]
        case .customInference: context.inferenceComplete ? [.score] : [.runInference(.custom)]
        case .scored: [.decide]
        case .decided: context.keep == true ? [] : [.deleteThroughput]
        case .kept:
            // keep = "model_only": the model stays, what served it for the evaluation goes.
            !context.keepsServing && context.throughputARN != nil && !context.throughputDeleted ? [.deleteThroughput] : [.notify(.kept)]
        case .throughputDeleted: context.keepRejectedModels || context.customModelDeleted ? [.notify(.notKept)] : [.deleteCustomModel]
        case .notified: [.finish]
        case .cleaningUp, .cancelling: cleanupActions
        case .done, .failed, .cancelled: []
        }
    }

    /// Cleanup stops what bills by the hour. A failure keeps the trained custom model for
    /// `retry` (see `WorkflowContext.customModelRetained`); a cancellation deletes it too,
    /// unless the profile keeps rejected models.
    private var cleanupActions: [Action] {
        if context.jobARN != nil && context.customModelARN == nil && !context.jobStopped { return [.stopJob] }
        if context.throughputARN != nil && !context.throughputDeleted { return [.deleteThroughput] }
        if stage == .cancelling && context.customModelRetained && !context.keepRejectedModels { return [.deleteCustomModel] }
        return [.notify(stage == .cancelling ? .cancelled : .failed)]
    }

    /// Starts a failed workflow again from the step that failed, as attempt n+1. With the
    /// custom model still there it serves that model again (no second training job);
    /// otherwise it creates a new job from the data already uploaded, or uploads again.
    /// Answers already checkpointed are reused by the inference step.
    @discardableResult
    public mutating func retry() throws(TransitionError) -> [Action] {
        guard stage == .failed else { throw TransitionError(stage: stage, event: .retryRequested) }
        if context.customModelRetained {
            stage = .jobCompleted
        } else if context.trainingDataURI != nil {
            context.jobARN = nil
            context.customModelARN = nil
            context.customModelDeleted = false
            stage = .uploaded
        } else {
            stage = .validated
        }
        context.attempt += 1
        context.throughputARN = nil
        context.throughputCreatedAt = nil
        context.throughputDeleted = false
        context.jobStopped = false
        context.inferenceComplete = false
        context.scores = nil
        context.failureReason = nil
        context.failedStage = nil
        context.lastServiceStatus = nil
        return pendingActions
    }

    /// Stages in which the workflow can still fail or be cancelled: before the decision.
    /// After it, the remaining steps (deleting what is not kept, notifying) are retried until
    /// they succeed; failing there would delete a throughput that was kept.
    public static let interruptible: Set<WorkflowStage> = [
        .validated, .uploaded, .jobCreated, .training, .jobCompleted, .throughputCreating, .inService,
        .baseInference, .customInference, .scored,
    ]

    @discardableResult
    public mutating func handle(_ event: Event) throws(TransitionError) -> [Action] {
        let refuse = TransitionError(stage: stage, event: event)
        if stage == .failed, event == .cancelRequested, context.customModelRetained, !context.keepRejectedModels {
            // Cancelling a failed workflow gives up on retrying it: its custom model goes.
            context.failureReason = "cancelled by an operator after failing: \(context.failureReason ?? "unknown")"
            stage = .cancelling
            return pendingActions
        }
        guard !stage.isTerminal else { throw refuse }
        switch (stage, event) {
        case (_, .cancelRequested):
            guard Self.interruptible.contains(stage) else { throw refuse }
            context.failureReason = "cancelled by an operator"
            stage = .cancelling
        case (.cleaningUp, .stepFailed), (.cancelling, .stepFailed):
            // Cleanup keeps trying; the executor retries the same action.
            return pendingActions
        case (_, .stepFailed(let message)):
            guard Self.interruptible.contains(stage) else { throw refuse }
            context.failureReason = message
            context.failedStage = stage
            stage = .cleaningUp
        case (.validated, .uploaded(let uri, let validationURI)):
            context.trainingDataURI = uri
            context.validationDataURI = validationURI
            stage = .uploaded
        case (.uploaded, .jobCreated(let arn)):
            context.jobARN = arn
            stage = .jobCreated
        case (.jobCreated, .jobInProgress):
            stage = .training
        case (.training, .jobInProgress):
            return [.pollJob]
        case (.jobCreated, .jobCompleted(let model)), (.training, .jobCompleted(let model)):
            context.customModelARN = model
            stage = .jobCompleted
        case (.jobCreated, .jobEnded(let status, let message)), (.training, .jobEnded(let status, let message)):
            context.jobStopped = true
            context.failedStage = stage
            context.failureReason = "the customization job ended \(status): \(message)"
            stage = .cleaningUp
        case (.jobCompleted, .throughputCreated(let arn, let at)):
            context.throughputARN = arn
            context.throughputCreatedAt = at
            stage = .throughputCreating
        case (.throughputCreating, .throughputCreating):
            return [.pollThroughput]
        case (.throughputCreating, .throughputInService(let at)):
            context.throughputInServiceAt = at
            stage = .inService
        case (.inService, .inferenceStarted(.base)):
            stage = .baseInference
        case (.baseInference, .inferenceStarted(.base)), (.customInference, .inferenceStarted(.custom)):
            return []
        case (.throughputCreating, .throughputFailed(let message)):
            context.failedStage = stage
            context.failureReason = "the provisioned throughput failed: \(message)"
            stage = .cleaningUp
        case (.inService, .inferenceFinished(.base)), (.baseInference, .inferenceFinished(.base)):
            stage = .customInference
        case (.customInference, .inferenceFinished(.custom)):
            context.inferenceComplete = true
        case (.customInference, .scored(let summary)) where context.inferenceComplete:
            context.scores = summary
            stage = .scored
        case (.scored, .decided(let keep, let reason)):
            context.keep = keep
            context.decisionReason = reason
            stage = keep ? .kept : .decided
        case (.kept, .throughputDeleted) where !context.keepsServing:
            context.throughputDeleted = true
        case (.decided, .throughputDeleted):
            context.throughputDeleted = true
            stage = .throughputDeleted
        case (.throughputDeleted, .customModelDeleted):
            context.customModelDeleted = true
        case (.notified, .finished):
            stage = .done
        case (.kept, .notified), (.throughputDeleted, .notified):
            stage = .notified
        case (.cleaningUp, .jobStopped), (.cancelling, .jobStopped):
            context.jobStopped = true
        case (.cleaningUp, .throughputDeleted), (.cancelling, .throughputDeleted):
            context.throughputDeleted = true
        case (.cleaningUp, .customModelDeleted), (.cancelling, .customModelDeleted):
            context.customModelDeleted = true
        case (.cleaningUp, .notified):
            stage = .failed
        case (.cancelling, .notified):
            stage = .cancelled
        default:
            throw refuse
        }
        return pendingActions
    }
}
