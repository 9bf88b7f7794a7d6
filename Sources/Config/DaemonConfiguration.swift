/// The daemon's whole configuration, as read from `finetuned.toml`.
///
/// Values are plain data: the daemon swaps the whole value on reload, so a half-applied
/// configuration can never be observed.
public struct DaemonConfiguration: Sendable, Equatable {
    /// The file this was read from.
    public var file: String
    public var daemon: DaemonSettings
    public var paths: Paths
    public var adapterDirectories: [String]
    public var inbox: InboxSettings
    public var limits: CostLimits
    public var engine: EngineSettings
    public var backends: [String: BackendConfiguration]
    public var profiles: [String: Profile]
    public var evaluation: EvaluationSettings
    public var notifications: NotificationSettings
    /// `[metrics]`: nil serves them through `finetunectl metrics` only.
    public var metrics: MetricsSettings? = nil
    /// A PostgreSQL store; nil: SQLite in the state directory.
    public var store: StoreSettings? = nil
    /// Where each key was written, for errors found after loading (adapter schema checks).
    public var keyLocator: TOMLKeyLocator

    /// `file:line` diagnostics for a key path such as `["profiles", "x", "adapter"]`.
    public func diagnostic(at path: [String], _ message: String) -> ConfigurationDiagnostic {
        ConfigurationDiagnostic(file: file, line: keyLocator.line(for: path), message: message)
    }
}

public struct DaemonSettings: Sendable, Equatable {
    public var logLevel: String = "info"
    /// How long a stop may take before systemd's own timeout would kill us.
    public var shutdownTimeout: Duration = .seconds(20)
    /// Where the control socket lives (`RuntimeDirectory=` under systemd).
    public var runtimeDirectory: String = "/run/finetuned"
    /// The group allowed to use the control socket besides root.
    public var controlGroup: String? = "finetuned"
}

public struct Paths: Sendable, Equatable {
    public var state: String = "/var/lib/finetuned"
    public var inbox: String = "/var/lib/finetuned/inbox"
    public var rejected: String = "/var/lib/finetuned/rejected"
    public var archive: String = "/var/lib/finetuned/archive"
    /// Where the BERT model used for evaluation and the local backend is installed.
    public var models: String = "/usr/share/finetuned/models"
}

public struct InboxSettings: Sendable, Equatable {
    public var submitGroup: String = "finetuned-submit"
    /// Reject drops owned by users outside `submitGroup` instead of accepting them.
    public var requireGroup: Bool = false
}

public struct CostLimits: Sendable, Equatable {
    public var maxConcurrentWorkflows: Int = 4
    public var maxLiveThroughputs: Int = 2
    /// Custom model deployments alive at once (on-demand serving).
    public var maxLiveDeployments: Int = 4
    /// A throughput that was not kept is deleted after this long, whatever else happens.
    public var maxUnkeptThroughputAge: Duration = .seconds(6 * 3600)
}

/// How the engine paces itself: polling, retries and deadlines. The file gives fractional
/// seconds (or minutes, hours, as the key says) so tests and drills can run a whole workflow
/// in moments.
public struct EngineSettings: Sendable, Equatable {
    /// First interval between polls of a training job; doubles (with jitter) while nothing
    /// changes, up to `maxPoll`, and starts again when the status changes.
    public var jobPoll: Duration = .seconds(60)
    public var throughputPoll: Duration = .seconds(30)
    public var maxPoll: Duration = .seconds(600)
    /// Backoff for a failed call: base × 2^attempt with jitter, capped at `retryMax`.
    public var retryBase: Duration = .seconds(2)
    public var retryMax: Duration = .seconds(300)
    /// A step whose call keeps failing transiently fails after this many attempts.
    public var stepAttempts: Int = 8
    public var trainingDeadline: Duration = .seconds(48 * 3600)
    public var throughputDeadline: Duration = .seconds(90 * 60)
    public var invokeTimeout: Duration = .seconds(120)
    /// Tries per evaluation prompt before its answer is recorded as failed.
    public var invokeAttempts: Int = 4
    /// How long after the workflow created a resource a "not found" for it is taken for the
    /// service's eventual consistency (and retried) rather than for the resource being gone.
    public var notFoundGrace: Duration = .seconds(120)

    public init() {}
}

public enum BackendKind: String, Sendable, Equatable, CaseIterable {
    case bedrock
    case local
    /// Creates nothing real: follows a script of outcomes and delays, for failure drills and
    /// the engine's tests. Its record of what it "created" lives in a file of its own.
    case scripted
}

/// What a `scripted` backend does: how long jobs and throughputs take, how they end, and
/// which faults it injects. Counts are of calls since its state file was created.
public struct ScriptSettings: Sendable, Equatable {
    /// Where it records what it created, deleted and was asked; shared across restarts and
    /// readable by tests. Without it, the record lives in memory.
    public var stateFile: String?
    public var jobPolls = 1
    public var jobOutcome = "Completed"
    public var jobMessage = "scripted outcome"
    public var throughputPolls = 1
    public var throughputOutcome = "InService"
    /// `createThroughput` beyond this many live throughputs fails with a quota error.
    public var throughputQuota = 100
    /// Delay of every call, and of every InvokeModel call.
    public var delayMilliseconds = 0
    public var invokeDelayMilliseconds = 0
    /// InvokeModel calls in flight at once, as Bedrock's `invoke_concurrency`.
    public var invokeConcurrency = 1
    /// Every n-th call is throttled / fails with a 5xx (0: never).
    public var throttleEvery = 0
    public var failEvery = 0
    /// Calls 1…n are all throttled: a throttling storm.
    public var stormCalls = 0
    /// An operation that fails permanently (`create_job`, `create_throughput`, `invoke`, …)
    /// and how: `access_denied`, `validation`, `quota`, or `not_found` (the service no longer
    /// knows the resource).
    public var failOperation: String?
    public var failKind = "access_denied"
    public static let operations = [
        "put_training_data", "find_job", "create_job", "get_job", "stop_job", "find_throughput",
        "create_throughput", "get_throughput", "invoke", "delete_throughput", "delete_custom_model",
    ]
    public static let failKinds = ["access_denied", "validation", "quota", "not_found"]
    /// How the custom model answers compared with the base model: better, worse or same.
    public var customAnswers = "better"

    public init() {}
}

public struct BackendConfiguration: Sendable, Equatable {
    public var name: String
    public var kind: BackendKind
    /// Set for `kind = "scripted"`.
    public var script: ScriptSettings?
    /// Set for `kind = "bedrock"` (nil only in a configuration that failed to load).
    public var bedrock: BedrockSettings?
    /// Kind-specific settings, validated by the backend itself when it is built.
    public var settings: [String: ConfigNode]
}

public struct Profile: Sendable, Equatable {
    public var name: String
    public var adapter: String
    public var baseModel: String
    public var backend: String
    public var evaluationSet: String?
    /// Validation data for the job (Bedrock's `validationDataConfig`), checked against the
    /// adapter's validation limits before anything is paid; Bedrock backends only.
    public var validationSet: String?
    /// How the custom model is served for its evaluation.
    public var serving: ServingChoice = .auto
    /// `[profiles.X.inference]`: what both models are asked with.
    public var inference = InferenceSettings()
    /// `fine_tuning` (default) or `distillation`, with `teacherModel`.
    public var customization = "fine_tuning"
    public var teacherModel: String?
    /// What a kept model keeps: what serves it too (default), or the model only.
    public var keep: KeepChoice = .modelAndServing
    /// Sets a sidecar may choose by name (`evaluation_set = "q3"`), name → absolute path.
    public var evaluationSets: [String: String]
    public var validationSets: [String: String]
    /// Values as written; the adapter's schema checks and converts them.
    public var hyperparameters: [String: ConfigNode]
    public var allowEndOfLife: Bool
    public var keepRejectedModels: Bool
    /// The line of `[profiles.NAME]`, for errors found later (adapter schema checks).
    public var line: Int?

    public init(
        name: String, adapter: String, baseModel: String, backend: String, evaluationSet: String? = nil,
        hyperparameters: [String: ConfigNode] = [:], allowEndOfLife: Bool = false, keepRejectedModels: Bool = false,
        line: Int? = nil, validationSet: String? = nil, evaluationSets: [String: String] = [:],
        validationSets: [String: String] = [:]
    ) {
        self.validationSet = validationSet
        self.evaluationSets = evaluationSets
        self.validationSets = validationSets
        self.name = name
        self.adapter = adapter
        self.baseModel = baseModel
        self.backend = backend
        self.evaluationSet = evaluationSet
        self.hyperparameters = hyperparameters
        self.allowEndOfLife = allowEndOfLife
        self.keepRejectedModels = keepRejectedModels
        self.line = line
    }
}

/// `[profiles.X.inference]`: the settings both models answer the evaluation prompts with; the
/// adapter maps them onto its model's request (Converse's `inferenceConfig`, or the family's
/// own InvokeModel fields) and refuses what its model does not take.
public struct InferenceSettings: Sendable, Equatable, Codable {
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var stopSequences: [String] = []

    public init(maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, stopSequences: [String] = []) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.stopSequences = stopSequences
    }
}

/// `serving` of a profile: `auto` serves on demand (a custom model deployment, billed per
/// token) where the model allows it, else by a provisioned throughput (billed by the hour).
public enum ServingChoice: String, Sendable, Equatable, CaseIterable {
    case auto
    case onDemand = "on_demand"
    case provisioned
}

/// `keep` of a profile: what a kept custom model keeps.
public enum KeepChoice: String, Sendable, Equatable, CaseIterable {
    case modelAndServing = "model_and_serving"
    case modelOnly = "model_only"
}

public struct EvaluationSettings: Sendable, Equatable, Codable {
    public var layer: Int = 6
    public var idf: Bool = false
    public var minImprovement: Double = 0
    public var confidence: Double = 0.95
    public var resamples: Int = 10_000
    public var minPrompts: Int = 20

    public init() {}
}

public struct NotificationSettings: Sendable, Equatable {
    public var email: EmailSettings?
    public var webhook: WebhookSettings?
    public var ses: SESSettings?
    public var maildir: String?
}

/// Amazon SES v2. Credentials come from the standard AWS chain (environment, systemd
/// credential `aws`, shared files, container, instance role), as for the Bedrock backend.
public struct SESSettings: Sendable, Equatable {
    public var from: String
    public var to: [String]
    /// Else `AWS_REGION` or the profile's region.
    public var region: String?
    /// An SES-compatible endpoint instead of `email.<region>.amazonaws.com`.
    public var endpointURL: String?
    public var configurationSet: String?

    public init(from: String, to: [String], region: String?, endpointURL: String?, configurationSet: String?) {
        self.from = from
        self.to = to
        self.region = region
        self.endpointURL = endpointURL
        self.configurationSet = configurationSet
    }
}

public enum SMTPSecurity: String, Sendable, Equatable, CaseIterable {
    case starttls
    case tls
    case none
}

public struct EmailSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var security: SMTPSecurity
    public var username: String?
    /// A file holding the password, or a name under `$CREDENTIALS_DIRECTORY`; never the
    /// password itself.
    public var passwordFile: String?
    public var caFile: String?
    public var from: String
    public var to: [String]

    public init(
        host: String, port: Int, security: SMTPSecurity, username: String?, passwordFile: String?, caFile: String?,
        from: String, to: [String]
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.passwordFile = passwordFile
        self.caFile = caFile
        self.from = from
        self.to = to
    }
}

public struct WebhookSettings: Sendable, Equatable {
    public var url: String
    public var secretFile: String?
    /// PEM certificates to trust for an `https://` receiver instead of the system's store.
    public var caFile: String?

    public init(url: String, secretFile: String?, caFile: String? = nil) {
        self.url = url
        self.secretFile = secretFile
        self.caFile = caFile
    }
}
