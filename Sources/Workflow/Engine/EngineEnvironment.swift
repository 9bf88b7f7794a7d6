import Foundation

/// Builds the InvokeModel body for a prompt and reads the text out of the answer: the
/// profile's adapter plugin, seen from the engine.
public protocol InvocationCodec: Sendable {
    /// Which runtime call carries the body: InvokeModel in the family's own shape, or
    /// Converse, which AWS recommends for every model that takes messages.
    var api: InvocationAPI { get }
    func requestBody(prompt: String) throws -> String
    func response(body: String) throws -> InvocationResponse
}

extension InvocationCodec {
    public var api: InvocationAPI { .invokeModel }
}

public enum InvocationAPI: String, Sendable, Equatable, Codable {
    case invokeModel = "invoke_model"
    case converse
}

/// A model's answer, with the tokens it used when the service says (what on-demand serving bills).
public struct InvocationResponse: Sendable, Equatable {
    public var text: String
    public var inputTokens: Int?
    public var outputTokens: Int?

    public init(text: String, inputTokens: Int? = nil, outputTokens: Int? = nil) {
        self.text = text
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// One held-out prompt with the reference answer it is scored against.
public struct EvaluationPrompt: Sendable, Equatable, Codable {
    /// The line of the evaluation set it came from.
    public var line: Int
    public var prompt: String
    public var reference: String

    public init(line: Int, prompt: String, reference: String) {
        self.line = line
        self.prompt = prompt
        self.reference = reference
    }
}

/// The prompts a workflow evaluates on, after removing those found in its training data.
public struct EvaluationPlan: Sendable, Equatable, Codable {
    public var prompts: [EvaluationPrompt]
    /// Prompts left out because the training data contains them.
    public var leaked: Int
    public var source: String

    public init(prompts: [EvaluationPrompt], leaked: Int, source: String) {
        self.prompts = prompts
        self.leaked = leaked
        self.source = source
    }
}

/// The scores behind a decision, per prompt and in summary.
public struct EvaluationResult: Sendable, Equatable, Codable {
    public struct PromptScore: Sendable, Equatable, Codable {
        public var index: Int
        public var baseF1: Double
        public var customF1: Double
        public init(index: Int, baseF1: Double, customF1: Double) {
            self.index = index
            self.baseF1 = baseF1
            self.customF1 = customF1
        }
    }

    public var summary: ScoreSummary
    public var perPrompt: [PromptScore]

    public init(summary: ScoreSummary, perPrompt: [PromptScore]) {
        self.summary = summary
        self.perPrompt = perPrompt
    }
}

/// Scores the two models' answers and decides; BERTScore in the daemon, anything in tests.
public protocol WorkflowEvaluator: Sendable {
    func plan(evaluationSet: String, trainingFile: String) async throws -> EvaluationPlan
    /// `base[i]` and `custom[i]` answer `plan.prompts[i]`; nil where a model failed.
    func evaluate(plan: EvaluationPlan, base: [String?], custom: [String?]) async throws -> EvaluationResult
}

/// What the engine needs from the daemon around it, looked up when needed so that a reload
/// (a new adapter, a changed backend) reaches workflows that start afterwards.
public protocol WorkflowEnvironment: Sendable {
    /// The settings a new workflow runs with, from its profile and sidecar. Throws a message
    /// for the operator when the profile can no longer run (removed, broken adapter).
    func spec(for workflow: WorkflowRecord) async throws -> WorkflowSpec
    func backend(named name: String) async throws -> any CustomizationBackend
    /// How the spec's adapter asks its base model (and the custom model trained from it),
    /// with the spec's inference settings.
    func codec(for spec: WorkflowSpec) async throws -> any InvocationCodec
    var evaluator: any WorkflowEvaluator { get }
    /// Where a workflow's lasting files go (reports, answers, scores, the training data).
    func archiveFolder(for workflowID: String) -> String
    /// The channels a notification is queued for (`log` at least).
    func notificationChannels() async -> [String]
    /// The operator's tags for every resource, besides the workflow id and profile.
    func extraTags() async -> [String: String]
    /// Called after notifications were committed to the outbox, to deliver them now.
    func notificationsQueued() async
    /// Called after a workflow changed stage (the daemon's `STATUS=` line follows).
    func stageChanged() async
    /// Called when the last running workflow has ended: nothing will need what was loaded
    /// for evaluation or local training until the next one starts, so it can be let go.
    func engineWentIdle() async
    /// Writes the report of a workflow that is ending (`report.html` in its archive folder) and
    /// returns its path; nil when there is none. Called by the notify step, so the report
    /// exists before any notification that names it is delivered.
    func writeReport(record: WorkflowRecord, outcome: WorkflowMachine.Outcome, trainingLoss: [EpochMetrics]) async -> String?
}

extension WorkflowEnvironment {
    /// Environments without reports (benchmarks) write none.
    public func writeReport(record: WorkflowRecord, outcome: WorkflowMachine.Outcome, trainingLoss: [EpochMetrics]) async -> String? {
        nil
    }
}
