import Foundation

// Requests and responses of the Bedrock control plane as typed values, with the JSON member
// names of the service. Decoding is tolerant: every member the workflow does not need is
// optional, and timestamps are kept as the text they came as (moto writes
// "2026-11-27 23:25:10", the service ISO 8601); the workflow keeps its own clock.

public struct BedrockTag: Codable, Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    static func list(_ tags: [String: String]) -> [BedrockTag]? {
        tags.isEmpty ? nil : tags.sorted { $0.key < $1.key }.map { BedrockTag(key: $0.key, value: $0.value) }
    }
}

public struct S3DataConfig: Codable, Sendable, Equatable {
    public var s3Uri: String
    public init(s3Uri: String) { self.s3Uri = s3Uri }
}

public struct ValidationDataConfig: Codable, Sendable, Equatable {
    public var validators: [S3DataConfig]
    public init(uri: String) { validators = [S3DataConfig(s3Uri: uri)] }
}

public struct OutputDataConfig: Codable, Sendable, Equatable {
    public var s3Uri: String
    public init(s3Uri: String) { self.s3Uri = s3Uri }
}

public struct VpcConfig: Codable, Sendable, Equatable {
    public var subnetIds: [String]
    public var securityGroupIds: [String]

    public init(subnetIds: [String], securityGroupIds: [String]) {
        self.subnetIds = subnetIds
        self.securityGroupIds = securityGroupIds
    }
}

public struct CreateModelCustomizationJobRequest: Codable, Sendable, Equatable {
    public var jobName: String
    public var customModelName: String
    public var roleArn: String
    public var clientRequestToken: String
    public var baseModelIdentifier: String
    public var customizationType: String = "FINE_TUNING"
    /// A union: `distillationConfig` (or `rftConfig`), for the types that need one.
    public var customizationConfig: CustomizationConfig?
    public var customModelKmsKeyId: String?
    public var jobTags: [BedrockTag]?
    public var customModelTags: [BedrockTag]?
    public var trainingDataConfig: S3DataConfig
    public var validationDataConfig: ValidationDataConfig?
    public var outputDataConfig: OutputDataConfig
    public var hyperParameters: [String: String]
    public var vpcConfig: VpcConfig?

    public init(
        jobName: String, customModelName: String, roleArn: String, clientRequestToken: String, baseModelIdentifier: String,
        trainingDataURI: String, outputDataURI: String, hyperParameters: [String: String], tags: [String: String],
        kmsKeyID: String? = nil, vpcConfig: VpcConfig? = nil, validationDataURI: String? = nil
    ) {
        validationDataConfig = validationDataURI.map(ValidationDataConfig.init(uri:))
        self.jobName = jobName
        self.customModelName = customModelName
        self.roleArn = roleArn
        self.clientRequestToken = clientRequestToken
        self.baseModelIdentifier = baseModelIdentifier
        customModelKmsKeyId = kmsKeyID
        jobTags = BedrockTag.list(tags)
        customModelTags = BedrockTag.list(tags)
        trainingDataConfig = S3DataConfig(s3Uri: trainingDataURI)
        outputDataConfig = OutputDataConfig(s3Uri: outputDataURI)
        self.hyperParameters = hyperParameters
        self.vpcConfig = vpcConfig
    }
}

public struct CustomizationConfig: Codable, Sendable, Equatable {
    public struct DistillationConfig: Codable, Sendable, Equatable {
        public struct TeacherModelConfig: Codable, Sendable, Equatable {
            public var teacherModelIdentifier: String
            public var maxResponseLengthForInference: Int?
        }
        public var teacherModelConfig: TeacherModelConfig
    }
    public var distillationConfig: DistillationConfig?

    public static func distillation(teacher: String) -> CustomizationConfig {
        CustomizationConfig(distillationConfig: DistillationConfig(teacherModelConfig: .init(teacherModelIdentifier: teacher)))
    }
}

public struct StatusDetail: Codable, Sendable, Equatable {
    public var status: String?
}

public struct StatusDetails: Codable, Sendable, Equatable {
    public var validationDetails: StatusDetail?
    public var dataProcessingDetails: StatusDetail?
    public var trainingDetails: StatusDetail?

    /// The phase in progress, for the journal ("Training", "Validation", …).
    public var currentPhase: String? {
        for (name, detail) in [("data processing", dataProcessingDetails), ("training", trainingDetails), ("validation", validationDetails)]
        where detail?.status == "InProgress" {
            return name
        }
        return nil
    }
}

public struct ModelCustomizationJob: Codable, Sendable, Equatable {
    public var jobArn: String
    public var jobName: String?
    public var outputModelName: String?
    public var outputModelArn: String?
    public var clientRequestToken: String?
    public var roleArn: String?
    public var status: String?
    public var failureMessage: String?
    public var creationTime: String?
    public var lastModifiedTime: String?
    public var endTime: String?
    public var baseModelArn: String?
    public var hyperParameters: [String: String]?
    public var trainingDataConfig: S3DataConfig?
    public var validationDataConfig: ValidationDataConfig?
    public var outputDataConfig: OutputDataConfig?
    public var statusDetails: StatusDetails?

    public init(jobArn: String) { self.jobArn = jobArn }
}

public struct CreateProvisionedModelThroughputRequest: Codable, Sendable, Equatable {
    public var clientRequestToken: String
    public var modelUnits: Int
    public var provisionedModelName: String
    public var modelId: String
    public var tags: [BedrockTag]?
    // No commitmentDuration: no-commitment throughput is billed by the hour and can be
    // deleted at any time, which is what a trial needs.

    public init(clientRequestToken: String, modelUnits: Int, provisionedModelName: String, modelId: String, tags: [String: String]) {
        self.clientRequestToken = clientRequestToken
        self.modelUnits = modelUnits
        self.provisionedModelName = provisionedModelName
        self.modelId = modelId
        self.tags = BedrockTag.list(tags)
    }
}

public struct ProvisionedModelThroughput: Codable, Sendable, Equatable {
    public var provisionedModelArn: String
    public var provisionedModelName: String?
    public var modelArn: String?
    public var modelUnits: Int?
    public var status: String?
    public var failureMessage: String?
    public var commitmentDuration: String?
    public var creationTime: String?
    public var lastModifiedTime: String?

    public init(provisionedModelArn: String) { self.provisionedModelArn = provisionedModelArn }
}

/// `CreateCustomModelDeployment`: serves a custom model on demand, billed per token.
public struct CreateCustomModelDeploymentRequest: Codable, Sendable, Equatable {
    public var modelDeploymentName: String
    public var modelArn: String
    public var description: String?
    public var tags: [BedrockTag]?
    public var clientRequestToken: String

    public init(modelDeploymentName: String, modelArn: String, description: String? = nil, tags: [String: String], clientRequestToken: String) {
        self.modelDeploymentName = modelDeploymentName
        self.modelArn = modelArn
        self.description = description
        self.tags = BedrockTag.list(tags)
        self.clientRequestToken = clientRequestToken
    }
}

/// `GetCustomModelDeployment`'s answer. (Its list summaries call the name
/// `customModelDeploymentName`; Get calls it `modelDeploymentName`.)
public struct CustomModelDeployment: Codable, Sendable, Equatable {
    public var customModelDeploymentArn: String
    public var modelDeploymentName: String?
    public var modelArn: String?
    /// `Creating`, `Active` or `Failed`.
    public var status: String?
    public var failureMessage: String?
    public var description: String?
    public var createdAt: String?
    public var lastUpdatedAt: String?

    public init(customModelDeploymentArn: String) { self.customModelDeploymentArn = customModelDeploymentArn }
}

public struct CustomModel: Codable, Sendable, Equatable {
    public var modelArn: String
    public var modelName: String?
    public var jobArn: String?
    public var baseModelArn: String?
    public var modelStatus: String?
    public var creationTime: String?
}

public struct FoundationModel: Codable, Sendable, Equatable {
    public struct Lifecycle: Codable, Sendable, Equatable {
        /// `ACTIVE` or `LEGACY`.
        public var status: String?
    }

    public var modelArn: String?
    public var modelId: String
    public var modelName: String?
    public var providerName: String?
    public var customizationsSupported: [String]?
    public var modelLifecycle: Lifecycle?
}
