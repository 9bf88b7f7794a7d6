import Foundation

/// Where workflows, their histories, the cloud resources they created and their pending
/// notifications are kept.
///
/// Every method is one transaction, committed durably before it returns: a side effect that
/// follows a call may rely on the call's record surviving a crash. Nothing here assumes
/// SQLite: a PostgreSQL store shared by several daemons implements it too, and the writes a
/// workflow's runner makes carry its lease (`WorkflowLease`), refused once another node took it.
public protocol WorkflowStore: StoreCoordination {
    /// Inserts a new workflow (normally in stage `.claiming`) with its first event, pinned to
    /// this node: its drop is in this node's spool.
    func insert(_ workflow: WorkflowRecord, event: String) async throws(StoreError)

    func workflow(id: String) async throws(StoreError) -> WorkflowRecord?

    /// Lets go of what the store caches and can rebuild on demand; the engine calls it when its
    /// last workflow ends, so a daemon at rest does not hold a busy hour's caches for days.
    func releaseMemory() async

    /// Moves a workflow from `expected` to `next` and records the event, atomically; fails
    /// with `.stageConflict` when the workflow is no longer in `expected` (someone else moved it).
    func transition(
        id: String, from expected: WorkflowStage, to next: WorkflowStage, event: String, failure: String?
    ) async throws(StoreError) -> WorkflowRecord

    /// The engine's one write per step: the stage (which may stay the same), the context, the
    /// event, the resources created or deleted and the notifications to send, all in one
    /// transaction. Fails with `.stageConflict` like `transition`.
    func advance(_ step: WorkflowStep) async throws(StoreError) -> WorkflowRecord

    /// Every resource a workflow created, in creation order.
    func resources(workflowID: String) async throws(StoreError) -> [ResourceRecord]

    /// Resources not yet deleted, oldest first (kept ones included); of one kind if given.
    func liveResources(kind: ResourceRecord.Kind?) async throws(StoreError) -> [ResourceRecord]

    /// Records a deletion made outside a workflow step (by the janitor).
    func markResourceDeleted(kind: ResourceRecord.Kind, identifier: String, at: Date) async throws(StoreError)

    /// Checkpoints one answer; saving the same (workflow, model, prompt) again replaces it.
    func saveAnswer(_ answer: InferenceAnswer, lease: WorkflowLease?) async throws(StoreError)

    func answers(workflowID: String) async throws(StoreError) -> [InferenceAnswer]

    /// Adds notifications outside a workflow step (a rejected drop, the janitor).
    func enqueue(_ entries: [OutboxEntry]) async throws(StoreError)

    /// Notifications neither delivered nor given up, oldest first.
    func pendingNotifications() async throws(StoreError) -> [OutboxEntry]

    func notifications(workflowID: String) async throws(StoreError) -> [OutboxEntry]

    /// Saves a delivery attempt's outcome (attempts, next attempt, delivered or given up).
    func updateNotification(_ entry: OutboxEntry) async throws(StoreError)

    /// Removes a workflow whose claim never happened (the drop vanished before the rename).
    func abandonClaim(id: String) async throws(StoreError)

    /// Workflows in any of `stages`, oldest first.
    func workflows(in stages: Set<WorkflowStage>) async throws(StoreError) -> [WorkflowRecord]

    /// A workflow that is not terminal and holds a drop with these bytes for this profile.
    func liveWorkflow(sha256: String, profile: String) async throws(StoreError) -> WorkflowRecord?

    /// The history of a workflow, oldest first.
    func events(workflowID: String) async throws(StoreError) -> [WorkflowEvent]

    /// Appends to the history; with a lease, only while the lease is still this node's.
    func appendEvent(_ event: WorkflowEvent, lease: WorkflowLease?) async throws(StoreError)

    /// How many workflows are in each stage.
    func stageCounts() async throws(StoreError) -> [WorkflowStage: Int]

    /// The most recently updated workflows, newest first.
    func recentWorkflows(limit: Int) async throws(StoreError) -> [WorkflowRecord]

    /// Records where a workflow's drop now lives (moved to rejected/, say).
    func recordLocation(id: String, path: String) async throws(StoreError)

    /// Records the SHA-256 of a workflow's drop once it has been read.
    func recordDigest(id: String, sha256: String) async throws(StoreError)
}

public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case stageConflict(id: String, expected: WorkflowStage, actual: WorkflowStage?)
    case notFound(id: String)
    case duplicateID(String)
    /// The database itself failed (disk full, read-only, corrupt), with its message.
    case database(String)
    /// A runner's write carried a lease another node has taken since (`holder`, at `epoch`).
    case leaseLost(WorkflowLease, holder: NodeID?, epoch: Int)
    /// Starting the workflow would exceed `max_concurrent_workflows` across the nodes.
    case admissionFull(limit: Int)

    public var description: String {
        switch self {
        case .stageConflict(let id, let expected, let actual):
            "workflow \(id) is in stage \(actual?.rawValue ?? "nowhere"), not \(expected.rawValue)"
        case .notFound(let id): "no workflow \(id)"
        case .duplicateID(let id): "a workflow \(id) already exists"
        case .database(let message): "the workflow store failed: \(message)"
        case .leaseLost(let lease, let holder, let epoch):
            "workflow \(lease.workflowID): this node (\(lease.node)) lost its lease \(lease.epoch); "
                + (holder.map { "node \($0) holds lease \(epoch) now" } ?? "the lease was released (now \(epoch))")
        case .admissionFull(let limit): "\(limit) workflows are running across the nodes (max_concurrent_workflows = \(limit))"
        }
    }
}

extension StoreError {
    /// Errors after which a runner must stop rather than reload and try again.
    var endsRunner: Bool {
        switch self {
        case .leaseLost, .admissionFull: true
        case .stageConflict, .notFound, .duplicateID, .database: false
        }
    }
}

extension WorkflowStore {
    public func liveResources() async throws(StoreError) -> [ResourceRecord] { try await liveResources(kind: nil) }

    /// A write outside any runner (the inbox, the janitor, an operator's request).
    public func appendEvent(_ event: WorkflowEvent) async throws(StoreError) { try await appendEvent(event, lease: nil) }

    public func saveAnswer(_ answer: InferenceAnswer) async throws(StoreError) { try await saveAnswer(answer, lease: nil) }

    /// A store without caches of its own has nothing to let go.
    public func releaseMemory() async {}

    /// The stages a workflow went through, in order, each once per stay: its path, which a
    /// resumed run must share with an uninterrupted one.
    public func stagePath(workflowID: String) async throws(StoreError) -> [WorkflowStage] {
        var path: [WorkflowStage] = []
        for event in try await events(workflowID: workflowID) where path.last != event.stage { path.append(event.stage) }
        return path
    }
}

/// One step of a workflow as the engine records it; see `WorkflowStore.advance`.
public struct WorkflowStep: Sendable {
    public var id: String
    public var from: WorkflowStage
    public var to: WorkflowStage
    public var context: WorkflowContext
    public var kind: WorkflowEvent.Kind
    public var message: String
    public var failure: String?
    public var resources: [ResourceChange]
    public var notifications: [OutboxEntry]
    public var at: Date
    /// The runner's lease: the step commits only while it is still this node's. Nil for
    /// writes outside a runner (an operator's request takes the lease first).
    public var lease: WorkflowLease?
    /// Set on the step that uploads the training data: from then on any node may drive the
    /// workflow (`.anywhere`), unless its backend trains on this host (`.here`).
    public var pin: Pin?
    /// The held-out prompts, recorded once (with the upload) for whichever node evaluates.
    public var evaluationPlan: EvaluationPlan?
    /// Set on the step that starts a workflow: refused (`StoreError.admissionFull`) when the
    /// store already has this many started and unfinished.
    public var admissionLimit: Int?

    public enum Pin: Sendable, Equatable {
        case here
        case anywhere
    }

    public init(
        id: String, from: WorkflowStage, to: WorkflowStage, context: WorkflowContext, kind: WorkflowEvent.Kind = .transition,
        message: String, failure: String? = nil, resources: [ResourceChange] = [], notifications: [OutboxEntry] = [],
        at: Date = Date(), lease: WorkflowLease? = nil, pin: Pin? = nil, evaluationPlan: EvaluationPlan? = nil, admissionLimit: Int? = nil
    ) {
        self.lease = lease
        self.pin = pin
        self.evaluationPlan = evaluationPlan
        self.admissionLimit = admissionLimit
        self.id = id
        self.from = from
        self.to = to
        self.context = context
        self.kind = kind
        self.message = message
        self.failure = failure
        self.resources = resources
        self.notifications = notifications
        self.at = at
    }
}
