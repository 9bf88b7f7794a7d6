import FinetunedValidation
import FinetunedWorkflow
import Foundation

/// Everything a finished workflow's report shows, gathered once (`ReportCollector`) and
/// rendered as `report.html` (`ReportPage`). Values only: rendering reads nothing else.
public struct WorkflowReport: Sendable {
    public enum Verdict: String, Sendable, Codable {
        case kept, notKept = "not kept", inconclusive, failed, cancelled
    }

    public var workflowID: String
    public var profile: String
    public var dropName: String
    public var baseModel: String?
    public var verdict: Verdict
    /// The decision in one sentence, with its numbers.
    public var sentence: String
    public var scores: ScoreSummary?
    /// Every prompt of the evaluation set, answered or not.
    public var prompts: [PromptResult]
    public var epochs: [EpochMetrics]
    public var trainingSteps: [TrainingMetricsCSV.StepLoss]
    public var validationSteps: [TrainingMetricsCSV.StepLoss]
    public var validation: ValidationReport?
    public var stages: [StageSpan]
    public var resources: [ResourceRecord]
    public var files: [ArchivedFile]
    public var archiveFolder: String
    public var failure: String?
    public var generatedAt: Date

    public init(
        workflowID: String, profile: String, dropName: String, baseModel: String?, verdict: Verdict, sentence: String,
        scores: ScoreSummary?, prompts: [PromptResult], epochs: [EpochMetrics], trainingSteps: [TrainingMetricsCSV.StepLoss],
        validationSteps: [TrainingMetricsCSV.StepLoss], validation: ValidationReport?, stages: [StageSpan], resources: [ResourceRecord],
        files: [ArchivedFile], archiveFolder: String, failure: String?, generatedAt: Date
    ) {
        self.workflowID = workflowID
        self.profile = profile
        self.dropName = dropName
        self.baseModel = baseModel
        self.verdict = verdict
        self.sentence = sentence
        self.scores = scores
        self.prompts = prompts
        self.epochs = epochs
        self.trainingSteps = trainingSteps
        self.validationSteps = validationSteps
        self.validation = validation
        self.stages = stages
        self.resources = resources
        self.files = files
        self.archiveFolder = archiveFolder
        self.failure = failure
        self.generatedAt = generatedAt
    }

    /// One held-out prompt with both answers and both scores (nil where a model did not answer).
    public struct PromptResult: Sendable, Equatable {
        public var index: Int
        public var line: Int
        public var prompt: String
        public var reference: String
        public var base: String?
        public var custom: String?
        public var baseF1: Double?
        public var customF1: Double?

        public init(
            index: Int, line: Int, prompt: String, reference: String, base: String?, custom: String?, baseF1: Double?, customF1: Double?
        ) {
            self.index = index
            self.line = line
            self.prompt = prompt
            self.reference = reference
            self.base = base
            self.custom = custom
            self.baseF1 = baseF1
            self.customF1 = customF1
        }

        /// Custom minus base, for prompts both models answered and that were scored.
        public var difference: Double? {
            guard let baseF1, let customF1 else { return nil }
            return customF1 - baseF1
        }
    }

    /// A phase of the run as people name it, and the time it took.
    public struct StageSpan: Sendable, Equatable, Codable {
        public var phase: Phase
        public var start: Date
        public var end: Date

        public init(phase: Phase, start: Date, end: Date) {
            self.phase = phase
            self.start = start
            self.end = end
        }

        public var duration: TimeInterval { end.timeIntervalSince(start) }
    }

    /// The stages grouped as the run is explained: the store's stages are finer.
    public enum Phase: String, Sendable, CaseIterable, Codable {
        case upload, queue, training, serving, inference, scoring, cleanup

        /// The phase a workflow is in while it sits in `stage`; nil before the upload and
        /// after the notification (admission, and the end).
        init?(_ stage: WorkflowStage) {
            switch stage {
            case .validated: self = .upload
            case .uploaded, .jobCreated: self = .queue
            case .training: self = .training
            case .jobCompleted, .throughputCreating: self = .serving
            case .inService, .baseInference: self = .inference
            case .customInference, .scored: self = .scoring
            case .decided, .kept, .throughputDeleted, .cleaningUp, .cancelling: self = .cleanup
            case .claiming, .claimed, .rejected, .notified, .done, .failed, .cancelled: return nil
            }
        }
    }

    public struct ArchivedFile: Sendable, Equatable {
        public var name: String
        public var bytes: Int?
        public var what: String

        public init(name: String, bytes: Int?, what: String) {
            self.name = name
            self.bytes = bytes
            self.what = what
        }
    }

    /// The five largest gains and the five largest losses of the custom model, by F1 difference.
    public var largestGains: [PromptResult] {
        Array(prompts.filter { ($0.difference ?? 0) > 0 }.sorted { $0.difference! > $1.difference! }.prefix(5))
    }

    public var largestLosses: [PromptResult] {
        Array(prompts.filter { ($0.difference ?? 0) < 0 }.sorted { $0.difference! < $1.difference! }.prefix(5))
    }

    /// Prompts both models answered and that were scored: the points of the scatter.
    public var scored: [PromptResult] { prompts.filter { $0.difference != nil } }
}
