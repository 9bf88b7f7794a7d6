import Foundation

/// What a workflow has learned and created so far: everything a resumed run needs to carry
/// on, and everything cleanup needs to find the resources it must delete. Persisted with the
/// stage in one transaction, so the two never disagree after a crash.
public struct WorkflowContext: Sendable, Equatable, Codable {
    /// What the workflow runs, fixed when it starts: a reload that edits the profile does not
    /// change a run in flight.
    public var spec: WorkflowSpec?
    /// 1 for the first run; `retry` increments it, and it is part of every resource name and
    /// client token so a retried step creates a new resource instead of finding the old one.
    public var attempt = 1
    public var trainingDataURI: String?
    /// Where the job's validation data was put, when the profile has a validation set.
    public var validationDataURI: String?
    public var jobARN: String?
    /// When the job was created: the training deadline counts from here.
    public var jobCreatedAt: Date?
    public var customModelARN: String?
    /// What serves the custom model: a provisioned throughput, or with on-demand serving a
    /// custom model deployment (see `Serving`).
    public var throughputARN: String?
    /// When the throughput was created: the cost guard deletes an unkept one after a while.
    public var throughputCreatedAt: Date?
    /// When it went into service: what a provisioned throughput bills by the hour counts from here.
    public var throughputInServiceAt: Date?
    /// The last status the service reported for the job or the throughput, as it said it.
    public var lastServiceStatus: String?
    /// How many held-out prompts each model is asked (set when inference starts), for progress.
    public var evaluationPrompts: Int?
    /// Both models have answered every evaluation prompt; scoring is next.
    public var inferenceComplete = false
    public var scores: ScoreSummary?
    /// Set once the decision is taken: keep the custom model's throughput or not.
    public var keep: Bool?
    public var decisionReason: String?
    /// Why the workflow is failing or was cancelled, for the notification and `show`.
    public var failureReason: String?
    /// The stage a failure happened in: where `retry` starts again.
    public var failedStage: WorkflowStage?
    /// Whether the profile keeps custom models that were not kept (storage is billed monthly).
    public var keepRejectedModels: Bool
    /// Resources that cleanup has confirmed stopped or deleted.
    public var throughputDeleted = false
    public var customModelDeleted = false
    public var jobStopped = false

    public init(keepRejectedModels: Bool = false) {
        self.keepRejectedModels = keepRejectedModels
    }

    /// A failed workflow keeps its trained custom model (hours of training; storage is billed
    /// by the month, not the hour) so that `retry` can serve it without training again;
    /// `cancel` deletes it.
    public var customModelRetained: Bool {
        customModelARN != nil && !customModelDeleted
    }
}

/// The settings a workflow runs with, copied from its profile and sidecar when it starts.
public struct WorkflowSpec: Sendable, Equatable, Codable {
    public var adapter: String
    /// The id a customization job names as its base (`amazon.titan-text-lite-v1:0:4k`).
    public var baseModel: String
    /// The id InvokeModel takes for the base model on demand (`amazon.titan-text-lite-v1`);
    /// nil in workflows stored before it was recorded, which use `baseModel`.
    public var baseInferenceModel: String?
    public var backend: String
    /// Hyperparameters as the service takes them (names → decimal strings).
    public var hyperparameters: [String: String]
    public var evaluationSet: String?
    /// The job's validation data, already checked against the adapter (Bedrock only).
    public var validationSet: String?
    /// Name stems; the attempt number is appended (`-a2`) from the second attempt on.
    public var jobName: String
    public var customModelName: String
    public var throughputName: String
    public var keepRejectedModels: Bool
    /// Nil in workflows stored before serving could be chosen: provisioned (see `Serving`).
    public var serving: Serving?
    /// Whether a kept model keeps what serves it (`keep = "model_only"` says no); nil: yes.
    public var keepServing: Bool?
    /// What both models are asked with (`[profiles.X.inference]`); nil: the models' defaults.
    public var inference: InferenceSpec?
    /// Distillation's teacher model (`customization = "distillation"`); nil: fine-tuning.
    public var teacherModel: String?

    public init(
        adapter: String, baseModel: String, backend: String, hyperparameters: [String: String], evaluationSet: String?,
        jobName: String, customModelName: String, throughputName: String, keepRejectedModels: Bool = false,
        baseInferenceModel: String? = nil, validationSet: String? = nil, serving: Serving? = nil, keepServing: Bool? = nil,
        inference: InferenceSpec? = nil, teacherModel: String? = nil
    ) {
        self.teacherModel = teacherModel
        self.inference = inference
        self.serving = serving
        self.keepServing = keepServing
        self.keepRejectedModels = keepRejectedModels
        self.validationSet = validationSet
        self.baseInferenceModel = baseInferenceModel
        self.adapter = adapter
        self.baseModel = baseModel
        self.backend = backend
        self.hyperparameters = hyperparameters
        self.evaluationSet = evaluationSet
        self.jobName = jobName
        self.customModelName = customModelName
        self.throughputName = throughputName
    }
}

/// The inference settings of a workflow, copied from its profile when it starts.
public struct InferenceSpec: Sendable, Equatable, Codable {
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var stopSequences: [String]

    public init(maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, stopSequences: [String] = []) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.stopSequences = stopSequences
    }
}

/// What the evaluation found, as the notification and `show` report it.
public struct ScoreSummary: Sendable, Equatable, Codable {
    /// keep, reject or inconclusive.
    public var verdict: String
    public var reason: String
    /// Prompts both models answered, which the scores are computed over.
    public var prompts: Int
    /// Prompts left out: a model failed to answer, or the prompt was in the training data.
    public var excludedUnanswered: Int
    public var excludedLeaked: Int
    public var meanBaseF1: Double
    public var meanCustomF1: Double
    public var confidenceLow: Double
    public var confidenceHigh: Double
    /// Share of bootstrap resamples in which the custom model's mean F1 is higher.
    public var winShare: Double

    public init(
        verdict: String, reason: String, prompts: Int, excludedUnanswered: Int, excludedLeaked: Int,
        meanBaseF1: Double, meanCustomF1: Double, confidenceLow: Double, confidenceHigh: Double, winShare: Double
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

    public var keep: Bool { verdict == "keep" }
}
