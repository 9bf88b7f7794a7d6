import Foundation

/// What `finetunectl status` shows: enough to tell at a glance which daemon is running, on
/// which configuration, and whether it is busy.
public struct DaemonStatus: Codable, Sendable, Equatable {
    public var daemonVersion: String
    public var protocolVersion: Int
    public var pid: Int32
    public var startedAt: Date
    public var uptimeSeconds: Double
    public var configurationFile: String
    /// When the configuration in force was loaded, and how many reloads succeeded / failed.
    public var configurationLoadedAt: Date
    public var reloads: Int
    public var failedReloads: Int
    public var lastReloadError: String?
    public var adapterDirectories: [String]
    public var inbox: String
    public var stateDirectory: String
    public var profiles: [String]
    public var counts: WorkflowCounts
    public var summary: String
    /// Cloud resources not deleted yet, kept ones included: what is costing money now.
    public var liveResources: [ResourceSummary] = []
    /// `status --whoami`: each backend's identity (an ARN) or why it could not be learnt.
    public var identities: [BackendIdentity]? = nil
    /// This daemon's node id, and every node of a store several daemons share (operators only).
    public var node: String? = nil
    public var nodes: [NodeSummary]? = nil

    public init(
        daemonVersion: String, protocolVersion: Int = ControlProtocol.version, pid: Int32,
        startedAt: Date, uptimeSeconds: Double, configurationFile: String,
        configurationLoadedAt: Date, reloads: Int, failedReloads: Int, lastReloadError: String?,
        adapterDirectories: [String], inbox: String, stateDirectory: String, profiles: [String],
        counts: WorkflowCounts, summary: String
    ) {
        self.daemonVersion = daemonVersion
        self.protocolVersion = protocolVersion
        self.pid = pid
        self.startedAt = startedAt
        self.uptimeSeconds = uptimeSeconds
        self.configurationFile = configurationFile
        self.configurationLoadedAt = configurationLoadedAt
        self.reloads = reloads
        self.failedReloads = failedReloads
        self.lastReloadError = lastReloadError
        self.adapterDirectories = adapterDirectories
        self.inbox = inbox
        self.stateDirectory = stateDirectory
        self.profiles = profiles
        self.counts = counts
        self.summary = summary
    }
}

/// A daemon sharing the store, as `finetunectl status` lists it.
public struct NodeSummary: Codable, Sendable, Equatable {
    public var id: String
    public var version: String
    public var startedAt: Date
    public var heartbeatAt: Date
    /// Seconds since its last heartbeat, by the answering daemon's clock.
    public var heartbeatAgeSeconds: Double
    public var workflowsHeld: Int

    public init(id: String, version: String, startedAt: Date, heartbeatAt: Date, heartbeatAgeSeconds: Double, workflowsHeld: Int) {
        self.id = id
        self.version = version
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.heartbeatAgeSeconds = heartbeatAgeSeconds
        self.workflowsHeld = workflowsHeld
    }
}

public struct WorkflowCounts: Codable, Sendable, Equatable {
    /// Workflows past validation and not finished: paying, or about to.
    public var running: Int
    /// Validated drops waiting for the workflow engine (or for capacity).
    public var waiting: Int
    public var succeeded: Int
    public var failed: Int
    /// Drops refused by validation.
    public var rejected: Int
    public var cancelled: Int

    public init(running: Int = 0, waiting: Int = 0, succeeded: Int = 0, failed: Int = 0, rejected: Int = 0, cancelled: Int = 0) {
        self.running = running
        self.waiting = waiting
        self.succeeded = succeeded
        self.failed = failed
        self.rejected = rejected
        self.cancelled = cancelled
    }
}

/// A resource a workflow created and that still exists.
public struct ResourceSummary: Codable, Sendable, Equatable {
    public var workflowID: String
    public var kind: String
    public var identifier: String
    public var createdAt: Date
    public var ageSeconds: Double
    /// Kept on purpose (a kept model's throughput, a failed workflow's model kept for retry).
    public var retained: Bool
    public var deletedAt: Date?

    public init(workflowID: String, kind: String, identifier: String, createdAt: Date, ageSeconds: Double, retained: Bool, deletedAt: Date? = nil) {
        self.workflowID = workflowID
        self.kind = kind
        self.identifier = identifier
        self.createdAt = createdAt
        self.ageSeconds = ageSeconds
        self.retained = retained
        self.deletedAt = deletedAt
    }
}

/// The scores of a workflow that was evaluated.
public struct ScoreDetail: Codable, Sendable, Equatable {
    public var verdict: String
    public var reason: String
    public var prompts: Int
    public var excludedUnanswered: Int
    public var excludedLeaked: Int
    public var meanBaseF1: Double
    public var meanCustomF1: Double
    public var confidenceLow: Double
    public var confidenceHigh: Double
    public var winShare: Double

    public init(
        verdict: String, reason: String, prompts: Int, excludedUnanswered: Int, excludedLeaked: Int, meanBaseF1: Double,
        meanCustomF1: Double, confidenceLow: Double, confidenceHigh: Double, winShare: Double
    ) {
        self.verdict = verdict
        self.reason = reason
        self.prompts = prompts
        self.excludedUnanswered = excludedUnanswered
        self.excludedLeaked = excludedLeaked
        self.meanBaseF1 = meanBaseF1
        self.meanCustomF1 = meanCustomF1
        self.confidenceLow = confidenceLow
        self.confidenceHigh = confidenceHigh
        self.winShare = winShare
    }
}

/// One line of `finetunectl list`.
public struct WorkflowSummary: Codable, Sendable, Equatable {
    public var id: String
    public var profile: String
    public var dropName: String
    public var stage: String
    public var createdAt: Date
    public var updatedAt: Date
    public var failure: String?

    public init(id: String, profile: String, dropName: String, stage: String, createdAt: Date, updatedAt: Date, failure: String?) {
        self.id = id
        self.profile = profile
        self.dropName = dropName
        self.stage = stage
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.failure = failure
    }
}

/// `finetunectl show`: the workflow and where its files are.
public struct WorkflowDetail: Codable, Sendable, Equatable {
    public var workflow: WorkflowSummary
    public var sha256: String?
    public var spoolPath: String
    public var archive: String
    public var attempt: Int = 1
    public var baseModel: String?
    public var backend: String?
    public var jobARN: String?
    public var customModelARN: String?
    public var throughputARN: String?
    public var serviceStatus: String?
    public var scores: ScoreDetail?
    public var resources: [ResourceSummary] = []
    /// Held-out prompts per model, and how many each model has answered so far.
    public var evaluationPrompts: Int?
    public var answered: [String: Int]?
    /// Mean training loss per epoch, and validation loss per epoch when every epoch has one,
    /// from the job's archived metric files.
    public var trainingLoss: [Double]?
    public var validationLoss: [Double]?
    /// The workflow's `report.html`, once written.
    public var report: String?
    /// The node driving it (holding its lease) and the lease's number; the node it is pinned
    /// to, if any (its data not uploaded yet, or a backend on that host).
    public var drivenBy: String?
    public var leaseEpoch: Int?
    public var pinnedTo: String?

    public init(workflow: WorkflowSummary, sha256: String?, spoolPath: String, archive: String) {
        self.workflow = workflow
        self.sha256 = sha256
        self.spoolPath = spoolPath
        self.archive = archive
    }
}

/// One entry of `finetunectl history`.
public struct HistoryEntry: Codable, Sendable, Equatable {
    public var at: Date
    public var stage: String
    public var kind: String
    public var message: String
    /// Seconds since the previous entry.
    public var sincePrevious: Double?

    public init(at: Date, stage: String, kind: String, message: String, sincePrevious: Double?) {
        self.at = at
        self.stage = stage
        self.kind = kind
        self.message = message
        self.sincePrevious = sincePrevious
    }
}

/// `finetunectl metrics`: the Prometheus text format, as `[metrics] listen` serves it.
public struct MetricsText: Codable, Sendable, Equatable {
    public var text: String

    public init(text: String) {
        self.text = text
    }
}

/// Who a backend acts as (`finetunectl status --whoami`).
public struct BackendIdentity: Codable, Sendable, Equatable {
    public var backend: String
    public var identity: String?
    public var error: String?

    public init(backend: String, identity: String?, error: String?) {
        self.backend = backend
        self.identity = identity
        self.error = error
    }
}
