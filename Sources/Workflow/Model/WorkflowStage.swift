/// Where a workflow is, as stored. The values are persisted: rename none of them.
///
/// The happy path runs claimed → validated → uploaded → jobCreated → training → jobCompleted
/// → throughputCreating → inService → baseInference → customInference → scored → decided →
/// (kept | throughputDeleted) → notified → done. Failure and cancellation pass through
/// cleanup before their terminal stage, so nothing paid outlives a workflow that stopped.
public enum WorkflowStage: String, Sendable, Codable, CaseIterable {
    /// The drop is being moved into the spool; a crash here is settled at the next start.
    case claiming
    case claimed
    case validated
    /// Validation failed: the drop is in rejected/ with its report. Terminal.
    case rejected
    case uploaded
    case jobCreated = "job_created"
    case training
    case jobCompleted = "job_completed"
    case throughputCreating = "throughput_creating"
    case inService = "in_service"
    case baseInference = "base_inference"
    case customInference = "custom_inference"
    case scored
    case decided
    case kept
    case throughputDeleted = "throughput_deleted"
    case notified
    /// Terminal.
    case done
    case cleaningUp = "cleaning_up"
    /// Terminal.
    case failed
    case cancelling
    /// Terminal.
    case cancelled

    /// Validation accepted the drop: the workflow is validated or has gone further.
    public var passedValidation: Bool {
        switch self {
        case .claiming, .claimed, .rejected: false
        default: true
        }
    }

    public static let accepted: Set<WorkflowStage> = Set(allCases.filter(\.passedValidation))

    public var isTerminal: Bool {
        switch self {
        case .rejected, .done, .failed, .cancelled: true
        default: false
        }
    }
}
