import Foundation

/// A cloud resource a workflow created, as the store remembers it: what the janitor and
/// `finetunectl status` look at, and how a resource is found again after a crash.
public struct ResourceRecord: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case trainingData = "training_data"
        case job
        case customModel = "custom_model"
        case throughput
        /// A custom model deployment (on-demand serving).
        case deployment
    }

    public var workflowID: String
    public var kind: Kind
    /// The ARN, URI or id the service gave it.
    public var identifier: String
    /// The name it was created under (what a lookup by name finds).
    public var name: String?
    public var clientToken: String?
    public var createdAt: Date
    public var deletedAt: Date?
    /// Left alive on purpose: a kept throughput and its model, or a model kept for retry.
    public var retained: Bool
    /// Found by name during a cleanup, never recorded when it was made (a crash or a cancel
    /// came between the create call and its commit): the report says so.
    public var recovered: Bool

    public init(
        workflowID: String, kind: Kind, identifier: String, name: String? = nil, clientToken: String? = nil,
        createdAt: Date = Date(), deletedAt: Date? = nil, retained: Bool = false, recovered: Bool = false
    ) {
        self.workflowID = workflowID
        self.kind = kind
        self.identifier = identifier
        self.name = name
        self.clientToken = clientToken
        self.createdAt = createdAt
        self.deletedAt = deletedAt
        self.retained = retained
        self.recovered = recovered
    }
}

/// A change to the resource table made in the same transaction as a stage change.
public enum ResourceChange: Sendable, Equatable {
    case created(ResourceRecord)
    case deleted(kind: ResourceRecord.Kind, identifier: String)
    case retained(kind: ResourceRecord.Kind, identifier: String, Bool)
}

/// One model's answer to one evaluation prompt, checkpointed as it arrives.
public struct InferenceAnswer: Sendable, Equatable, Codable {
    public var workflowID: String
    /// `base` or `custom`.
    public var model: String
    /// The prompt's position in the evaluation set (0-based).
    public var index: Int
    public var output: String?
    /// Why there is no output after every retry.
    public var failure: String?
    public var attempts: Int
    public var latencySeconds: Double?
    /// Tokens in and out, when the service reported them.
    public var inputTokens: Int?
    public var outputTokens: Int?

    public init(
        workflowID: String, model: String, index: Int, output: String?, failure: String?, attempts: Int, latencySeconds: Double? = nil,
        inputTokens: Int? = nil, outputTokens: Int? = nil
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.workflowID = workflowID
        self.model = model
        self.index = index
        self.output = output
        self.failure = failure
        self.attempts = attempts
        self.latencySeconds = latencySeconds
    }
}

/// A notification waiting in the outbox: recorded with the transition it reports, delivered
/// afterwards, once per channel.
public struct OutboxEntry: Sendable, Equatable, Codable {
    public var id: Int64?
    public var workflowID: String?
    /// `email`, `webhook`, `maildir`, `ses` or `log`.
    public var channel: String
    /// What it reports: `kept`, `not_kept`, `failed`, `cancelled`, `rejected`, `janitor`.
    public var kind: String
    /// The facts, as JSON.
    public var payload: String
    public var createdAt: Date
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var deliveredAt: Date?
    public var givenUpAt: Date?
    public var lastError: String?

    public init(
        id: Int64? = nil, workflowID: String?, channel: String, kind: String, payload: String, createdAt: Date = Date(),
        attempts: Int = 0, nextAttemptAt: Date? = nil, deliveredAt: Date? = nil, givenUpAt: Date? = nil, lastError: String? = nil
    ) {
        self.id = id
        self.workflowID = workflowID
        self.channel = channel
        self.kind = kind
        self.payload = payload
        self.createdAt = createdAt
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.deliveredAt = deliveredAt
        self.givenUpAt = givenUpAt
        self.lastError = lastError
    }
}
