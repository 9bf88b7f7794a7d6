import AdapterKit

/// What one file is checked against: the model's record schema and limits, at the job's
/// batch size, for a training or a validation file.
public struct ValidationPlan: Sendable {
    public enum Role: String, Sendable, Codable { case training, validation }

    public var model: ModelDescription
    public var role: Role
    /// The job's batch size and epoch count, for the batch-dependent token limit and the
    /// training-token estimate.
    public var batchSize: Int?
    public var epochs: Int?
    /// Lines longer than this are refused without being held in memory.
    public var maximumLineBytes: Int
    /// Only this many problems are kept in full; the rest are counted.
    public var maximumListedProblems: Int
    /// The job's hyperparameters as Bedrock gets them, for the documentation's advice.
    public var hyperparameters: [String: String] = [:]
    /// The bucket the training data goes to, when known: media records name must be in it.
    public var dataBucket: String?
    /// Distillation: the teacher answers the prompts, so a record may leave its answer out.
    public var distillation = false

    public init(
        model: ModelDescription, role: Role = .training, batchSize: Int? = nil, epochs: Int? = nil,
        maximumLineBytes: Int = 8 << 20, maximumListedProblems: Int = 1000
    ) {
        self.model = model
        self.role = role
        self.batchSize = batchSize
        self.epochs = epochs
        self.maximumLineBytes = maximumLineBytes
        self.maximumListedProblems = maximumListedProblems
    }

    /// A plan from a profile's resolved hyperparameters (Bedrock's string map).
    public init(model: ModelDescription, hyperparameters: [String: String], role: Role = .training, dataBucket: String? = nil) {
        self.init(
            model: model, role: role, batchSize: hyperparameters["batchSize"].flatMap { Int($0) },
            epochs: hyperparameters["epochCount"].flatMap { Int($0) })
        self.hyperparameters = hyperparameters
        self.dataBucket = dataBucket
    }

    var limits: DataLimits { model.limits }
    var totalTokenLimit: Int? { limits.totalTokenLimit(batchSize: batchSize) }

    /// Estimated tokens for `characters` characters: AWS's rule of thumb, rounded up.
    func tokens(_ characters: Int) -> Int {
        Int((Double(characters) / limits.charactersPerToken).rounded(.up))
    }
}
