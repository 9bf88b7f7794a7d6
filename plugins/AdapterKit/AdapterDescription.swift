/// Everything an adapter declares about its model family, as data.
///
/// The host reads this once at load time and applies it itself: validating a training file
/// against the declared record schema and limits needs no call into the plugin per record.
public struct AdapterDescription: Sendable, Equatable {
    /// Lower-case letters, digits, `-` and `_`; profiles name the adapter by it.
    public var name: String
    public var version: String
    public var summary: String
    public var models: [ModelDescription]

    public init(name: String, version: String, summary: String, models: [ModelDescription]) {
        self.name = name
        self.version = version
        self.summary = summary
        self.models = models
    }

    public func model(_ id: String) -> ModelDescription? { models.first { $0.id == id } }
}

/// One base model that can be customized.
public struct ModelDescription: Sendable, Equatable {
    /// The id `CreateModelCustomizationJob` takes as `baseModelIdentifier`.
    public var id: String
    public var displayName: String
    /// The on-demand id for invoking the base model (`cohere.command-light-text-v14`).
    public var inferenceID: String
    public var lifecycle: ModelLifecycle
    public var record: RecordSchema
    public var limits: DataLimits
    public var hyperparameters: [HyperparameterSpec]
    /// Absent prices are unknown, never guessed.
    public var prices: Prices?
    /// Caveats, such as limits the documentation does not state.
    public var notes: [String]
    public var serving: ServingFacts

    public init(
        id: String, displayName: String, inferenceID: String, lifecycle: ModelLifecycle = ModelLifecycle(),
        record: RecordSchema, limits: DataLimits, hyperparameters: [HyperparameterSpec], prices: Prices? = nil,
        notes: [String] = [], serving: ServingFacts = ServingFacts()
    ) {
        self.serving = serving
        self.id = id
        self.displayName = displayName
        self.inferenceID = inferenceID
        self.lifecycle = lifecycle
        self.record = record
        self.limits = limits
        self.hyperparameters = hyperparameters
        self.prices = prices
        self.notes = notes
    }

    public func hyperparameter(_ name: String) -> HyperparameterSpec? { hyperparameters.first { $0.name == name } }
}

/// When a model became legacy and when it reaches end of life, as ISO dates (`2025-08-12`).
/// The status is derived from the dates on a given day, so a table written today turns a
/// model into "end of life" on the right day without a new plugin.
public struct ModelLifecycle: Sendable, Equatable {
    public var legacyDate: String?
    public var endOfLifeDate: String?
    /// A status reported without a date ("Llama 2: end of life"), which dates cannot express.
    public var reportedStatus: LifecycleStatus?

    public init(legacyDate: String? = nil, endOfLifeDate: String? = nil, reportedStatus: LifecycleStatus? = nil) {
        self.legacyDate = legacyDate
        self.endOfLifeDate = endOfLifeDate
        self.reportedStatus = reportedStatus
    }

    /// The status on `day` (an ISO date; ISO dates order correctly as strings): the later of
    /// what the dates say and what was reported.
    public func status(on day: String) -> LifecycleStatus {
        var status = LifecycleStatus.active
        if let legacy = legacyDate, day >= legacy { status = .legacy }
        if let end = endOfLifeDate, day >= end { status = .endOfLife }
        if let reportedStatus, reportedStatus > status { status = reportedStatus }
        return status
    }
}

public enum LifecycleStatus: String, Sendable, Equatable, Comparable {
    case active
    case legacy
    case endOfLife = "end_of_life"

    private var rank: Int {
        switch self {
        case .active: 0
        case .legacy: 1
        case .endOfLife: 2
        }
    }

    public static func < (a: LifecycleStatus, b: LifecycleStatus) -> Bool { a.rank < b.rank }
}

/// The shape of one training record.
public struct RecordSchema: Sendable, Equatable {
    public enum Format: String, Sendable, Equatable {
        /// One JSON object per line with named fields (`{"prompt", "completion"}`).
        case fields
        /// `bedrock-conversation-2024`: schemaVersion, system, alternating messages.
        case conversation
    }

    public var format: Format
    /// For `.fields`: the fields, their JSON types and which side of the token count they are on.
    public var fields: [RecordField]
    /// For `.conversation`.
    public var conversation: ConversationSchema?

    public init(format: Format, fields: [RecordField] = [], conversation: ConversationSchema? = nil) {
        self.format = format
        self.fields = fields
        self.conversation = conversation
    }

    /// `{"prompt": string, "completion": string}`, both required and non-empty.
    public static let promptCompletion = RecordSchema(
        format: .fields,
        fields: [
            RecordField(name: "prompt", type: .string, countsAs: .input),
            RecordField(name: "completion", type: .string, countsAs: .output),
        ])

    /// Bedrock's conversation records as Llama 3.2 and later take them.
    public static let bedrockConversation = RecordSchema(
        format: .conversation, conversation: ConversationSchema(schemaVersion: "bedrock-conversation-2024"))
}

public enum JSONType: String, Sendable, Equatable {
    case string, number, boolean, object, array
}

/// Which token budget a field's text counts against.
public enum TokenRole: String, Sendable, Equatable {
    case input, output, none
}

public struct RecordField: Sendable, Equatable {
    public var name: String
    public var type: JSONType
    public var required: Bool
    public var nonEmpty: Bool
    public var countsAs: TokenRole

    public init(name: String, type: JSONType, required: Bool = true, nonEmpty: Bool = true, countsAs: TokenRole) {
        self.name = name
        self.type = type
        self.required = required
        self.nonEmpty = nonEmpty
        self.countsAs = countsAs
    }
}

/// `{"schemaVersion", "system": [{"text"}], "messages": [{"role", "content": [{"text"}]}]}`:
/// user and assistant alternate, starting with user and ending with assistant. System text and
/// user turns count as input tokens, assistant turns as output.
public struct ConversationSchema: Sendable, Equatable {
    public var schemaVersion: String
    /// Nova takes any string as `schemaVersion` (its examples use `schemaVersion`'s value).
    public var anySchemaVersion: Bool
    public var systemAllowed: Bool
    public var firstRole: String
    public var lastRole: String
    /// Strings that fail a job when they appear in system or user text (Nova's `User:`, …),
    /// reported at their line and column.
    public var reservedStrings: [String]
    /// Image and video blocks in user turns; nil: text only.
    public var media: MediaRules?
    /// `reasoningContent` blocks allowed in assistant turns (Nova 2 Lite).
    public var reasoningContent: Bool

    public init(
        schemaVersion: String, anySchemaVersion: Bool = false, systemAllowed: Bool = true, firstRole: String = "user",
        lastRole: String = "assistant", reservedStrings: [String] = [], media: MediaRules? = nil, reasoningContent: Bool = false
    ) {
        self.schemaVersion = schemaVersion
        self.anySchemaVersion = anySchemaVersion
        self.systemAllowed = systemAllowed
        self.firstRole = firstRole
        self.lastRole = lastRole
        self.reservedStrings = reservedStrings
        self.media = media
        self.reasoningContent = reasoningContent
    }
}

/// What media a conversation record may carry: `{"image": {"format", "source": {"s3Location":
/// {"uri"}}}}` and the same for `video`, in user turns only, one kind per file.
public struct MediaRules: Sendable, Equatable {
    public var imageFormats: [String]
    public var maxImagesPerRecord: Int
    public var videoFormats: [String]
    public var maxVideosPerRecord: Int

    public init(imageFormats: [String], maxImagesPerRecord: Int, videoFormats: [String], maxVideosPerRecord: Int) {
        self.imageFormats = imageFormats
        self.maxImagesPerRecord = maxImagesPerRecord
        self.videoFormats = videoFormats
        self.maxVideosPerRecord = maxVideosPerRecord
    }
}

/// A `customizationType` of `CreateModelCustomizationJob` that a model takes.
public enum CustomizationKind: String, Sendable, Equatable, CaseIterable {
    case fineTuning = "fine_tuning"
    case distillation
    case continuedPreTraining = "continued_pre_training"

    /// The API's name.
    public var apiName: String {
        switch self {
        case .fineTuning: "FINE_TUNING"
        case .distillation: "DISTILLATION"
        case .continuedPreTraining: "CONTINUED_PRE_TRAINING"
        }
    }
}

/// Which runtime call asks the model: InvokeModel with the family's own body, or Converse.
public enum InvokeAPI: String, Sendable, Equatable {
    case invokeModel = "invoke_model"
    case converse
}

/// How a custom model of this base can be served, and what else the host needs to know
/// about it. Plugins built before these existed describe none of it: fine-tuning only,
/// provisioned throughput, InvokeModel, validation data allowed.
public struct ServingFacts: Sendable, Equatable {
    public var customizations: [CustomizationKind]
    /// A custom model deployment (on demand, billed per token) can serve it.
    public var onDemand: Bool
    public var invokeAPI: InvokeAPI
    /// For distillation: the teacher model ids this model may learn from.
    public var teachers: [String]
    /// Whether the job takes a validation set (Nova 2 Lite: no).
    public var validationData: Bool
    /// Distillation takes single-turn records only (Meta's students; Nova's take several turns).
    public var distillationSingleTurn: Bool

    public init(
        customizations: [CustomizationKind] = [.fineTuning], onDemand: Bool = false, invokeAPI: InvokeAPI = .invokeModel,
        teachers: [String] = [], validationData: Bool = true, distillationSingleTurn: Bool = false
    ) {
        self.distillationSingleTurn = distillationSingleTurn
        self.customizations = customizations
        self.onDemand = onDemand
        self.invokeAPI = invokeAPI
        self.teachers = teachers
        self.validationData = validationData
    }
}

/// Data limits, each nil where the model has none or the documentation does not state one.
public struct DataLimits: Sendable, Equatable {
    /// AWS's rule of thumb for estimating tokens from characters.
    public var charactersPerToken: Double
    public var maxInputTokens: Int?
    public var maxOutputTokens: Int?
    public var maxTotalTokens: Int?
    /// Where the total-token limit depends on batch size (Titan): the first entry whose
    /// `maxBatchSize` is at least the job's batch size applies.
    public var totalTokensByBatchSize: [BatchTokenLimit]
    public var minTrainingRecords: Int?
    public var maxTrainingRecords: Int?
    public var maxValidationRecords: Int?
    /// Limits on training + validation records together (Llama).
    public var minTotalRecords: Int?
    public var maxTotalRecords: Int?
    public var maxTrainingFileBytes: Int?
    public var maxValidationFileBytes: Int?

    public init(
        charactersPerToken: Double = 6, maxInputTokens: Int? = nil, maxOutputTokens: Int? = nil,
        maxTotalTokens: Int? = nil, totalTokensByBatchSize: [BatchTokenLimit] = [],
        minTrainingRecords: Int? = nil, maxTrainingRecords: Int? = nil, maxValidationRecords: Int? = nil,
        minTotalRecords: Int? = nil, maxTotalRecords: Int? = nil,
        maxTrainingFileBytes: Int? = nil, maxValidationFileBytes: Int? = nil
    ) {
        self.charactersPerToken = charactersPerToken
        self.maxInputTokens = maxInputTokens
        self.maxOutputTokens = maxOutputTokens
        self.maxTotalTokens = maxTotalTokens
        self.totalTokensByBatchSize = totalTokensByBatchSize
        self.minTrainingRecords = minTrainingRecords
        self.maxTrainingRecords = maxTrainingRecords
        self.maxValidationRecords = maxValidationRecords
        self.minTotalRecords = minTotalRecords
        self.maxTotalRecords = maxTotalRecords
        self.maxTrainingFileBytes = maxTrainingFileBytes
        self.maxValidationFileBytes = maxValidationFileBytes
    }

    /// The total-token limit that applies at `batchSize`.
    public func totalTokenLimit(batchSize: Int?) -> Int? {
        if let batchSize, let rule = totalTokensByBatchSize.first(where: { batchSize <= $0.maxBatchSize }) {
            return rule.maxTotalTokens
        }
        return maxTotalTokens
    }
}

public struct BatchTokenLimit: Sendable, Equatable {
    public var maxBatchSize: Int
    public var maxTotalTokens: Int

    public init(maxBatchSize: Int, maxTotalTokens: Int) {
        self.maxBatchSize = maxBatchSize
        self.maxTotalTokens = maxTotalTokens
    }
}

public enum HyperparameterType: String, Sendable, Equatable {
    case integer, float, boolean, string
}

/// One hyperparameter: what Bedrock calls it, its type, range and default.
public struct HyperparameterSpec: Sendable, Equatable {
    public var name: String
    public var type: HyperparameterType
    public var minimum: Double?
    public var maximum: Double?
    public var defaultValue: JSONValue?
    /// For `.string` parameters with a fixed set of values.
    public var allowedValues: [String]
    public var summary: String
    /// Where the documentation advises a value of (training records ÷ this), as for Nova's
    /// warmup steps: validation warns when the value is more than three times off.
    public var recordsPerSuggestedUnit: Int?

    public init(
        name: String, type: HyperparameterType, minimum: Double? = nil, maximum: Double? = nil,
        defaultValue: JSONValue? = nil, allowedValues: [String] = [], summary: String, recordsPerSuggestedUnit: Int? = nil
    ) {
        self.recordsPerSuggestedUnit = recordsPerSuggestedUnit
        self.name = name
        self.type = type
        self.minimum = minimum
        self.maximum = maximum
        self.defaultValue = defaultValue
        self.allowedValues = allowedValues
        self.summary = summary
    }
}

/// Prices in `currency`, valid `asOf` the date given (they change; a run's estimate says so).
public struct Prices: Sendable, Equatable {
    public var asOf: String
    public var currency: String
    public var trainingPerThousandTokens: Double?
    public var storagePerMonth: Double?
    public var throughputPerModelUnitHour: Double?

    public init(
        asOf: String, currency: String = "USD", trainingPerThousandTokens: Double? = nil,
        storagePerMonth: Double? = nil, throughputPerModelUnitHour: Double? = nil
    ) {
        self.asOf = asOf
        self.currency = currency
        self.trainingPerThousandTokens = trainingPerThousandTokens
        self.storagePerMonth = storagePerMonth
        self.throughputPerModelUnitHour = throughputPerModelUnitHour
    }
}
