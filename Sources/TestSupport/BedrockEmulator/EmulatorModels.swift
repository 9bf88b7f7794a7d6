import Foundation

/// What the emulator holds, in the shapes Bedrock answers with.
public struct EmulatedJob: Sendable, Codable {
    public var name: String
    public var arn: String
    public var token: String
    public var customModelName: String
    public var baseModel: String
    public var roleARN: String
    public var trainingURI: String
    public var validationURI: String?
    public var outputURI: String
    public var hyperParameters: [String: String]
    public var tags: [String: String]
    public var status: String
    public var failureMessage: String?
    public var outputModelARN: String?
    public var polls: Int
    public var customizationType = "FINE_TUNING"
    public var teacherModel: String?
}

public struct EmulatedThroughput: Sendable, Codable {
    public var name: String
    public var arn: String
    public var token: String
    public var modelARN: String
    public var modelUnits: Int
    public var commitment: String?
    public var tags: [String: String]
    public var status: String
    public var polls: Int
}

/// A custom model deployment: `Creating` for `deploymentPolls` Gets, then `Active` (or `Failed`
/// with `EmulatorFaults.failDeploymentsWith`).
public struct EmulatedDeployment: Sendable, Codable {
    public var name: String
    public var arn: String
    public var token: String
    public var modelARN: String
    public var tags: [String: String]
    public var status: String
    public var failureMessage: String?
    public var polls: Int
}

public struct EmulatedModel: Sendable, Codable {
    public var name: String
    public var arn: String
    public var baseModel: String
    public var jobARN: String
}

/// Faults the next requests meet, counted down as they are used.
public struct EmulatorFaults: Sendable, Codable, Equatable {
    /// The next n API requests are answered 429 ThrottlingException.
    public var throttle = 0
    /// The next n API requests are answered 500 InternalServerException.
    public var serverErrors = 0
    /// The next n API requests get their connection closed without an answer.
    public var resets = 0
    /// Every API request waits this long first.
    public var delayMilliseconds = 0
    /// Jobs end `Failed` with this message instead of `Completed`.
    public var failJobsWith: String?
    /// CreateProvisionedModelThroughput beyond this many live throughputs is refused with
    /// ServiceQuotaExceededException.
    public var throughputQuota = 100
    /// InvokeModel on a throughput answers ModelNotReadyException this many times first.
    public var modelNotReady = 0
    /// Eventual consistency: the first n Get calls for each job, custom model or throughput
    /// created from now on answer ResourceNotFoundException, as AWS may just after a create.
    public var notFoundAfterCreate = 0
    /// The next n API requests are answered 500 with an HTML page, as a proxy or a load
    /// balancer in front of a service answers (and as moto does for what it lacks).
    public var htmlServerErrors = 0
    /// The next n API requests are answered 400 with a JSON error whose message spans lines.
    public var badRequests = 0
    /// Deployments end `Failed` with this message instead of `Active`.
    public var failDeploymentsWith: String?

    public init() {}

    /// Any field may be left out of the JSON the control surface takes.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        throttle = try c.decodeIfPresent(Int.self, forKey: .throttle) ?? 0
        serverErrors = try c.decodeIfPresent(Int.self, forKey: .serverErrors) ?? 0
        resets = try c.decodeIfPresent(Int.self, forKey: .resets) ?? 0
        delayMilliseconds = try c.decodeIfPresent(Int.self, forKey: .delayMilliseconds) ?? 0
        failJobsWith = try c.decodeIfPresent(String.self, forKey: .failJobsWith)
        throughputQuota = try c.decodeIfPresent(Int.self, forKey: .throughputQuota) ?? 100
        modelNotReady = try c.decodeIfPresent(Int.self, forKey: .modelNotReady) ?? 0
        notFoundAfterCreate = try c.decodeIfPresent(Int.self, forKey: .notFoundAfterCreate) ?? 0
        htmlServerErrors = try c.decodeIfPresent(Int.self, forKey: .htmlServerErrors) ?? 0
        badRequests = try c.decodeIfPresent(Int.self, forKey: .badRequests) ?? 0
        failDeploymentsWith = try c.decodeIfPresent(String.self, forKey: .failDeploymentsWith)
    }
}

/// How the models answer: the custom model with the reference (`better`), with an
/// off-topic sentence (`worse`), or as the base model does (`same`). The base model answers
/// with the prompt's first words. Deterministic, so a test knows the decision to expect.
public enum EmulatedAnswers: String, Sendable, Codable {
    case better, worse, same
}

/// The model families the emulator knows, with their lifecycle (model tables are data:
/// Cohere Command Light is legacy).
public struct EmulatedFoundationModel: Sendable, Codable {
    /// The id a customization job names.
    public var id: String
    /// The id InvokeModel takes on demand; the customization id is refused there, as by the service.
    public var inferenceID: String
    public var provider: String
    public var lifecycle: String
    public var customizations: [String]

    public static let catalogue: [EmulatedFoundationModel] = [
        .init(
            id: "cohere.command-light-text-v14:7:4k", inferenceID: "cohere.command-light-text-v14", provider: "Cohere", lifecycle: "LEGACY",
            customizations: ["FINE_TUNING"]),
        .init(
            id: "cohere.command-text-v14:7:4k", inferenceID: "cohere.command-text-v14", provider: "Cohere", lifecycle: "LEGACY",
            customizations: ["FINE_TUNING"]),
        .init(
            id: "meta.llama3-1-8b-instruct-v1:0:128k", inferenceID: "meta.llama3-1-8b-instruct-v1:0", provider: "Meta", lifecycle: "ACTIVE",
            customizations: ["FINE_TUNING", "DISTILLATION"]),
        .init(
            id: "meta.llama3-2-1b-instruct-v1:0:128k", inferenceID: "meta.llama3-2-1b-instruct-v1:0", provider: "Meta", lifecycle: "ACTIVE",
            customizations: ["FINE_TUNING"]),
        .init(
            id: "meta.llama2-13b-v1:0:4k", inferenceID: "meta.llama2-13b-v1", provider: "Meta", lifecycle: "LEGACY",
            customizations: ["FINE_TUNING", "CONTINUED_PRE_TRAINING"]),
        .init(
            id: "amazon.titan-text-lite-v1:0:4k", inferenceID: "amazon.titan-text-lite-v1", provider: "Amazon", lifecycle: "LEGACY",
            customizations: ["FINE_TUNING", "CONTINUED_PRE_TRAINING"]),
        .init(
            id: "amazon.titan-text-express-v1:0:8k", inferenceID: "amazon.titan-text-express-v1", provider: "Amazon", lifecycle: "LEGACY",
            customizations: ["FINE_TUNING", "CONTINUED_PRE_TRAINING"]),
        .init(
            id: "amazon.titan-text-premier-v1:0:32k", inferenceID: "amazon.titan-text-premier-v1:0", provider: "Amazon", lifecycle: "LEGACY",
            customizations: ["FINE_TUNING"]),
        .init(
            id: "amazon.nova-micro-v1:0:128k", inferenceID: "amazon.nova-micro-v1:0", provider: "Amazon", lifecycle: "ACTIVE",
            customizations: ["FINE_TUNING", "DISTILLATION"], onDemand: true),
        .init(
            id: "amazon.nova-lite-v1:0:300k", inferenceID: "amazon.nova-lite-v1:0", provider: "Amazon", lifecycle: "ACTIVE",
            customizations: ["FINE_TUNING", "DISTILLATION"], onDemand: true),
        .init(
            id: "amazon.nova-pro-v1:0:300k", inferenceID: "amazon.nova-pro-v1:0", provider: "Amazon", lifecycle: "ACTIVE",
            customizations: ["FINE_TUNING", "DISTILLATION"], onDemand: true),
        .init(
            id: "amazon.nova-2-lite-v1:0:256k", inferenceID: "us.amazon.nova-2-lite-v1:0", provider: "Amazon", lifecycle: "ACTIVE",
            customizations: ["FINE_TUNING"], onDemand: true),
    ]

    /// Custom models of this base can be served by a custom model deployment.
    public var onDemand = false

    /// Distillation: student → the teachers it may learn from.
    public static let teachers: [String: [String]] = [
        "amazon.nova-micro-v1:0:128k": ["amazon.nova-pro-v1:0", "amazon.nova-premier-v1:0"],
        "amazon.nova-lite-v1:0:300k": ["amazon.nova-pro-v1:0", "amazon.nova-premier-v1:0"],
        "amazon.nova-pro-v1:0:300k": ["amazon.nova-premier-v1:0"],
        "meta.llama3-1-8b-instruct-v1:0:128k": [
            "meta.llama3-1-405b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0", "meta.llama3-3-70b-instruct-v1:0",
        ],
    ]

    init(id: String, inferenceID: String, provider: String, lifecycle: String, customizations: [String], onDemand: Bool = false) {
        self.id = id
        self.inferenceID = inferenceID
        self.provider = provider
        self.lifecycle = lifecycle
        self.customizations = customizations
        self.onDemand = onDemand
    }

    /// The family of a model id or of the base model behind a custom model.
    static func family(_ modelID: String) -> String {
        if modelID.hasPrefix("cohere.") { return "cohere" }
        if modelID.hasPrefix("meta.") { return "meta" }
        if modelID.hasPrefix("amazon.nova") || modelID.hasPrefix("us.amazon.nova") { return "nova" }
        return "titan"
    }
}
