/// What a workflow has learned and created so far: everything a resumed run needs to carry
/// on, and everything cleanup needs to find the resources it must delete.
public struct WorkflowContext: Sendable, Equatable, Codable {
    public var trainingDataURI: String?
    public var jobARN: String?
    public var customModelARN: String?
    public var throughputARN: String?
    /// Both models have answered every evaluation prompt; scoring is next.
    public var inferenceComplete = false
    /// Set once the decision is taken: keep the custom model's throughput or not.
    public var keep: Bool?
    public var decisionReason: String?
    /// Why the workflow is failing or was cancelled, for the notification and `show`.
    public var failureReason: String?
    /// Whether the profile keeps custom models that were not kept (storage is billed monthly).
    public var keepRejectedModels: Bool
    /// Resources that cleanup has confirmed deleted.
    public var throughputDeleted = false
    public var customModelDeleted = false
    public var jobStopped = false

    public init(keepRejectedModels: Bool = false) {
        self.keepRejectedModels = keepRejectedModels
    }
}
