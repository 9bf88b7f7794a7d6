import Foundation

/// Where training and inference happen: Amazon Bedrock, the local backend, or the scripted
/// backend the tests drive. The engine calls nothing else that costs money.
///
/// Every create call carries a client token the engine derives from the workflow, attempt
/// and step, and every resource has a name derived the same way: after a crash the engine
/// looks the resource up by name before creating anything, and a service that has already
/// seen the token answers with the resource it created for it.
public protocol CustomizationBackend: Sendable {
    /// Puts the validated training file where the service reads it; returns its URI.
    /// Calling it twice for the same workflow replaces the object (it is not billed by the hour).
    func putTrainingData(_ upload: TrainingUpload) async throws(BackendError) -> String
    /// Puts the job's validation data (`path`, already checked) beside the training data;
    /// returns its URI. Only Bedrock takes it; the configuration refuses it elsewhere.
    func putValidationData(_ upload: TrainingUpload, path: String) async throws(BackendError) -> String

    /// The job created under `name`, if any.
    func findJob(name: String) async throws(BackendError) -> JobState?
    func createJob(_ request: JobRequest) async throws(BackendError) -> String
    func job(_ arn: String) async throws(BackendError) -> JobState
    /// Asks the service to stop a running job; stopping one that already ended is not an error.
    /// Stops and deletes throw `.notFound` for what the service does not know; the engine
    /// takes that as removed (`Removal`), so a backend never hides it.
    func stopJob(_ arn: String) async throws(BackendError)

    func findThroughput(name: String) async throws(BackendError) -> ThroughputState?
    func createThroughput(_ request: ThroughputRequest) async throws(BackendError) -> String
    func throughput(_ arn: String) async throws(BackendError) -> ThroughputState
    /// Deletes a provisioned throughput.
    func deleteThroughput(_ arn: String) async throws(BackendError)
    /// Deletes a custom model.
    func deleteCustomModel(_ arn: String) async throws(BackendError)

    /// On-demand serving: a custom model deployment, billed per token with no hourly charge.
    /// Backends without it refuse; the configuration only asks it of Bedrock.
    func findDeployment(name: String) async throws(BackendError) -> DeploymentState?
    func createDeployment(_ request: DeploymentRequest) async throws(BackendError) -> String
    func deployment(_ arn: String) async throws(BackendError) -> DeploymentState
    func deleteDeployment(_ arn: String) async throws(BackendError)

    /// Runs one InvokeModel call with a body the profile's adapter built; returns the raw body.
    func invoke(modelID: String, body: String) async throws(BackendError) -> String
    /// Runs one Converse call (`messages`, `inferenceConfig`); returns the raw body.
    func converse(modelID: String, body: String) async throws(BackendError) -> String

    /// How many InvokeModel calls the engine may have in flight at once.
    var invokeConcurrency: Int { get }

    /// Whether jobs train and models serve on the daemon's own host (the local backend): a
    /// workflow on such a backend stays on the node that claimed it, even on a shared store.
    var trainsOnThisHost: Bool { get }

    /// The job's loss per epoch, when the service reports it (for the notification), with the
    /// service's metric files copied into `archiveFolder`; empty when it does not report them
    /// or they cannot be read. Never fails a workflow.
    func trainingMetrics(jobARN: String, archiveFolder: String) async -> [EpochMetrics]

    /// A warning to log before paying for a job on `baseModel` (a legacy or end-of-life
    /// model), when the service says so; nil otherwise. Never fails a workflow.
    func baseModelWarning(_ baseModel: String) async -> String?

    /// Who the backend acts as, for `finetunectl status --whoami` (on AWS, the ARN STS's
    /// GetCallerIdentity names); nil for a backend without an identity of its own.
    func identity() async throws(BackendError) -> String?
}

extension CustomizationBackend {
    public func putValidationData(_ upload: TrainingUpload, path: String) async throws(BackendError) -> String {
        throw .permanent("this backend takes no separate validation data; remove validation_set from the profile")
    }
    public var invokeConcurrency: Int { 1 }
    public var trainsOnThisHost: Bool { false }
    public func converse(modelID: String, body: String) async throws(BackendError) -> String {
        throw .permanent("this backend has no Converse API; the adapter's InvokeModel bodies serve instead")
    }
    public func findDeployment(name: String) async throws(BackendError) -> DeploymentState? { nil }
    public func createDeployment(_ request: DeploymentRequest) async throws(BackendError) -> String {
        throw .permanent("this backend serves no custom model deployments; set serving = \"provisioned\" in the profile")
    }
    public func deployment(_ arn: String) async throws(BackendError) -> DeploymentState { throw .notFound("no deployment \(arn)") }
    public func deleteDeployment(_ arn: String) async throws(BackendError) { throw .notFound("no deployment \(arn)") }
    public func trainingMetrics(jobARN: String, archiveFolder: String) async -> [EpochMetrics] { [] }
    public func baseModelWarning(_ baseModel: String) async -> String? { nil }
    public func identity() async throws(BackendError) -> String? { nil }
}

/// One epoch's losses as a training job reported them.
public struct EpochMetrics: Sendable, Equatable, Codable {
    public var epoch: Int
    public var trainingLoss: Double
    public var validationLoss: Double?
    /// The custom model holds this epoch's weights: the best by validation loss where the
    /// backend stops early and keeps the best (the local backend), the last one on Bedrock.
    /// Optional: notifications stored before it existed still decode.
    public var kept: Bool?

    public init(epoch: Int, trainingLoss: Double, validationLoss: Double?, kept: Bool? = nil) {
        self.epoch = epoch
        self.trainingLoss = trainingLoss
        self.validationLoss = validationLoss
        self.kept = kept
    }
}

public struct TrainingUpload: Sendable, Equatable {
    public var workflowID: String
    public var profile: String
    /// The validated drop in the spool.
    public var localPath: String
    public var sha256: String?
    /// The name the operator dropped it under, for the object's name at the service.
    public var dropName: String?

    public init(workflowID: String, profile: String, localPath: String, sha256: String?, dropName: String? = nil) {
        self.workflowID = workflowID
        self.profile = profile
        self.localPath = localPath
        self.sha256 = sha256
        self.dropName = dropName
    }
}

public struct JobRequest: Sendable, Equatable {
    public var jobName: String
    public var customModelName: String
    public var baseModel: String
    public var trainingDataURI: String
    /// Bedrock's `validationDataConfig`, when the profile has a validation set.
    public var validationDataURI: String?
    public var hyperparameters: [String: String]
    public var clientRequestToken: String
    /// `finetuned:workflow-id`, `finetuned:profile`, plus the operator's own.
    public var tags: [String: String]
    /// For distillation: the teacher whose answers the job trains on (nil: fine-tuning).
    public var teacherModel: String?

    public init(
        jobName: String, customModelName: String, baseModel: String, trainingDataURI: String,
        hyperparameters: [String: String], clientRequestToken: String, tags: [String: String], validationDataURI: String? = nil,
        teacherModel: String? = nil
    ) {
        self.teacherModel = teacherModel
        self.validationDataURI = validationDataURI
        self.jobName = jobName
        self.customModelName = customModelName
        self.baseModel = baseModel
        self.trainingDataURI = trainingDataURI
        self.hyperparameters = hyperparameters
        self.clientRequestToken = clientRequestToken
        self.tags = tags
    }
}

public struct ThroughputRequest: Sendable, Equatable {
    public var name: String
    public var modelARN: String
    /// Model units; 1 with no commitment term (billed by the hour, deletable at any time).
    public var modelUnits: Int
    public var clientRequestToken: String
    public var tags: [String: String]

    public init(name: String, modelARN: String, modelUnits: Int = 1, clientRequestToken: String, tags: [String: String]) {
        self.name = name
        self.modelARN = modelARN
        self.modelUnits = modelUnits
        self.clientRequestToken = clientRequestToken
        self.tags = tags
    }
}

public struct DeploymentRequest: Sendable, Equatable {
    public var name: String
    public var modelARN: String
    public var clientRequestToken: String
    public var tags: [String: String]

    public init(name: String, modelARN: String, clientRequestToken: String, tags: [String: String]) {
        self.name = name
        self.modelARN = modelARN
        self.clientRequestToken = clientRequestToken
        self.tags = tags
    }
}

/// A custom model deployment as the service reports it.
public struct DeploymentState: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable, Codable {
        case creating = "Creating", active = "Active", failed = "Failed"
    }

    public var arn: String
    public var status: Status
    public var message: String?
    /// The model it serves: the proof that a deployment found by name is this workflow's.
    public var modelARN: String?

    public init(arn: String, status: Status, message: String? = nil, modelARN: String? = nil) {
        self.arn = arn
        self.status = status
        self.message = message
        self.modelARN = modelARN
    }
}

/// A customization job as the service reports it.
public struct JobState: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable, Codable {
        case inProgress = "InProgress", completed = "Completed", failed = "Failed", stopping = "Stopping", stopped = "Stopped"
    }

    public var arn: String
    public var status: Status
    /// Set once the job completed.
    public var customModelARN: String?
    /// The service's failure message, or its progress detail (`Training`, `Validating`, …).
    public var message: String?
    /// The client token it was created with: the proof that a job found by name is this
    /// workflow's (nil when the service does not say).
    public var clientToken: String?

    public init(arn: String, status: Status, customModelARN: String? = nil, message: String? = nil, clientToken: String? = nil) {
        self.arn = arn
        self.status = status
        self.customModelARN = customModelARN
        self.message = message
        self.clientToken = clientToken
    }
}

/// A provisioned throughput as the service reports it.
public struct ThroughputState: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable, Codable {
        case creating = "Creating", inService = "InService", updating = "Updating", failed = "Failed"
    }

    public var arn: String
    public var status: Status
    public var message: String?
    /// The model it serves: a throughput found by name is this workflow's only if it serves
    /// this workflow's custom model (nil when the service does not say).
    public var modelARN: String?

    public init(arn: String, status: Status, message: String? = nil, modelARN: String? = nil) {
        self.arn = arn
        self.status = status
        self.message = message
        self.modelARN = modelARN
    }
}

/// How a backend call failed, sorted by what the engine should do about it.
public enum BackendError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The service asked us to slow down; retry, after `retryAfter` if it said so.
    case throttled(message: String, retryAfter: Duration?)
    /// A 5xx, a timeout, a reset connection: retry with backoff.
    case transient(String)
    /// The resource does not exist.
    case notFound(String)
    /// A quota or limit: retrying now will not help (`ServiceQuotaExceededException`).
    case quotaExceeded(String)
    /// Access denied, validation failure, a conflict that is not ours: fail the step.
    case permanent(String)

    public var isRetryable: Bool {
        switch self {
        case .throttled, .transient: true
        case .notFound, .quotaExceeded, .permanent: false
        }
    }

    public var description: String {
        switch self {
        case .throttled(let message, let after): "throttled: \(message)" + (after.map { " (retry after \($0))" } ?? "")
        case .transient(let message): "transient failure: \(message)"
        case .notFound(let message): "not found: \(message)"
        case .quotaExceeded(let message): "quota exceeded: \(message)"
        case .permanent(let message): message
        }
    }
}
