import FinetunedTime
import Foundation

/// One workflow as the store keeps it.
public struct WorkflowRecord: Sendable, Equatable, Codable {
    /// `wf-YYYYMMDD-xxxxxxxx`: sortable by day, unique, safe in file names and AWS names.
    public var id: String
    public var profile: String
    /// The drop's file name in the inbox.
    public var dropName: String
    /// SHA-256 of the drop's bytes (hex); what duplicate detection compares.
    public var sha256: String?
    /// Where the claimed drop lives now (under the state directory).
    public var spoolPath: String
    public var stage: WorkflowStage
    public var createdAt: Date
    public var updatedAt: Date
    /// The reason for `failed` or `rejected`, in words a person can act on.
    public var failure: String?
    /// What the run has learned and created; saved with every stage change.
    public var context: WorkflowContext
    /// The uid that owned the drop when it was claimed: a member of the submit group sees,
    /// cancels and retries only the workflows of its own drops. Nil for workflows the daemon
    /// did not claim from the inbox.
    public var ownerUID: UInt32?

    public init(
        id: String, profile: String, dropName: String, sha256: String?, spoolPath: String,
        stage: WorkflowStage, createdAt: Date, updatedAt: Date, failure: String? = nil, context: WorkflowContext = WorkflowContext(),
        ownerUID: UInt32? = nil
    ) {
        self.context = context
        self.ownerUID = ownerUID
        self.id = id
        self.profile = profile
        self.dropName = dropName
        self.sha256 = sha256
        self.spoolPath = spoolPath
        self.stage = stage
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.failure = failure
    }

    /// A new workflow id for `date`.
    public static func newID(at date: Date = Date()) -> String {
        let suffix = (0..<8).map { _ in "0123456789abcdef".randomElement()! }
        return "wf-" + UTCTime(date).compactDate + "-" + String(suffix)
    }
}

/// One entry of a workflow's append-only history.
public struct WorkflowEvent: Sendable, Equatable, Codable {
    public var workflowID: String
    public var at: Date
    public var stage: WorkflowStage
    public var kind: Kind
    public var message: String
    /// The node that wrote it (nil in rows from before nodes, and for events of the store's
    /// own making); the store fills it in.
    public var node: NodeID?

    /// What an event records, stored by its raw value. Code decides by the kind, never by the
    /// message, which is for people and may be reworded.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// The workflow's first event (its drop was claimed).
        case created
        /// The engine took it up (a step that changes no stage).
        case started
        case transition
        /// Taken up again after a restart.
        case resumed
        /// The service reported a new status.
        case poll
        case error
        /// The janitor removed something the workflow left.
        case janitor
        case cancel
        case retry
        /// An event a version before v5 recorded with a word of its own (see the migration).
        case note
    }

    public init(workflowID: String, at: Date = Date(), stage: WorkflowStage, kind: Kind, message: String, node: NodeID? = nil) {
        self.node = node
        self.workflowID = workflowID
        self.at = at
        self.stage = stage
        self.kind = kind
        self.message = message
    }
}
