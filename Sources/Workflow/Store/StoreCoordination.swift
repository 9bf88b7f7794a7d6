import Foundation

/// What daemons sharing one store agree on through it: who drives each workflow (leases with
/// fencing numbers, see `WorkflowLease`), which nodes are alive, and the limits that hold for
/// all of them at once (`max_concurrent_workflows`, live throughputs and deployments).
///
/// SQLite has one node; its leases never expire while the daemon runs and serve one purpose,
/// fencing the daemon's own previous life. PostgreSQL has as many as share the database.
public protocol StoreCoordination: Sendable {
    /// The node this store acts for: leases are taken for it and events carry it.
    var node: NodeID { get }
    /// Whether other daemons may share the store. A shared store's leases expire unless
    /// renewed, and its nodes look for workflows to take over and notifications to deliver.
    var isShared: Bool { get }

    /// Takes the workflow's lease for this node when nobody else holds a lease that has not
    /// expired (or `takeOver`: an operator's request, which takes it whoever holds it) and the
    /// workflow is not pinned to another node. The epoch grows by one.
    func acquireLease(workflowID: String, duration: Duration, takeOver: Bool) async throws(StoreError) -> LeaseAttempt

    /// Extends the leases this node still holds at their epoch; returns the ones it lost.
    func renewLeases(_ leases: [WorkflowLease], duration: Duration) async throws(StoreError) -> [WorkflowLease]

    /// Lets another node take the workflow at once (a runner that stopped or finished).
    func releaseLease(_ lease: WorkflowLease) async throws(StoreError)

    /// The workflows in `stages` this node may drive (no live lease of another node, not pinned
    /// elsewhere), oldest first, and how many workflows the whole store has started.
    func drivableWorkflows(in stages: Set<WorkflowStage>) async throws(StoreError) -> DrivableWorkflows

    /// Who drives a workflow now; nil for an unknown workflow.
    func driver(workflowID: String) async throws(StoreError) -> WorkflowDriver?

    /// Records that this node is alive (and which version it runs).
    func heartbeat(version: String, startedAt: Date) async throws(StoreError)

    /// Every node that ever used the store, newest heartbeat first.
    func nodes() async throws(StoreError) -> [NodeRecord]

    /// Takes a throughput or deployment slot for the workflow when the store's live ones
    /// (recorded resources and other slots of unfinished workflows) leave room under `limit`,
    /// or the workflow already has one.
    func reserveServing(_ kind: ResourceRecord.Kind, workflowID: String, limit: Int) async throws(StoreError) -> Bool

    func releaseServing(_ kind: ResourceRecord.Kind, workflowID: String) async throws(StoreError)

    /// Claims a pending notification for this node for `duration`, unless another node holds
    /// a claim on it or it was delivered or given up meanwhile: whoever claims first delivers.
    func claimNotification(id: Int64, duration: Duration) async throws(StoreError) -> OutboxEntry?

    /// Runs `body` unless another node is running a job of that name; nil when one is.
    func exclusively(_ job: ExclusiveJob, _ body: @Sendable () async -> Void) async throws(StoreError) -> Bool

    /// The evaluation plan recorded when the training data was uploaded, so any node can
    /// ask and score from there; nil for workflows from before plans were stored.
    func evaluationPlan(workflowID: String) async throws(StoreError) -> EvaluationPlan?
}

extension StoreCoordination {
    public func acquireLease(workflowID: String, duration: Duration) async throws(StoreError) -> LeaseAttempt {
        try await acquireLease(workflowID: workflowID, duration: duration, takeOver: false)
    }
}

/// What `acquireLease` found.
public enum LeaseAttempt: Sendable, Equatable {
    /// Taken; `from` is the node whose lease it replaced (nil: none, or this node's own).
    case acquired(WorkflowLease, from: NodeID?)
    /// Another node holds it for `expiresIn` more seconds.
    case held(by: NodeID, expiresIn: Double)
    /// It runs only on `node` (its data is not uploaded yet, or its backend is local).
    case pinned(to: NodeID)
    /// Another node's transaction has the row locked this instant (taking it, or committing a
    /// step); the next pass looks again.
    case busy
    case notFound
}

public struct DrivableWorkflow: Sendable, Equatable {
    public var id: String
    public var stage: WorkflowStage
    /// Past `start` (its settings fixed): it counts against `max_concurrent_workflows`.
    public var started: Bool

    public init(id: String, stage: WorkflowStage, started: Bool) {
        self.id = id
        self.stage = stage
        self.started = started
    }
}

public struct DrivableWorkflows: Sendable, Equatable {
    public var workflows: [DrivableWorkflow]
    /// Started and unfinished, on every node.
    public var started: Int

    public init(workflows: [DrivableWorkflow], started: Int) {
        self.workflows = workflows
        self.started = started
    }
}

/// Work one node at a time does for all.
public enum ExclusiveJob: String, Sendable, CaseIterable {
    case janitor

    /// The advisory lock's key on PostgreSQL: "ftj" and the job's index.
    public var lockKey: Int64 { 0x66_74_6A_00 + Int64(Self.allCases.firstIndex(of: self)!) }
}
