/// What each step is called where people read it: the journal, `finetunectl show`, a
/// notification. A Swift value's description (`runInference(…Model.base)`) is not words.
extension WorkflowMachine.Action {
    public var words: String { words(serving: .provisioned) }

    /// The serving steps in the words of what they create.
    public func words(serving: Serving) -> String {
        switch self {
        case .upload: "uploading the training data"
        case .createJob: "creating the customization job"
        case .pollJob: "checking on the customization job"
        case .stopJob: "stopping the customization job"
        case .createThroughput: "creating the \(serving.words)"
        case .pollThroughput: "checking on the \(serving.words)"
        case .runInference(.base): "asking the base model"
        case .runInference(.custom): "asking the custom model"
        case .score: "scoring the answers"
        case .decide: "deciding whether to keep the custom model"
        case .deleteThroughput: "deleting the \(serving.words)"
        case .deleteCustomModel: "deleting the custom model"
        case .notify: "queueing the notification"
        case .finish: "archiving the drop"
        }
    }
}

extension ResourceRecord.Kind {
    /// "the customization job", as a sentence names it.
    public var words: String {
        switch self {
        case .trainingData: "training data"
        case .job: "customization job"
        case .customModel: "custom model"
        case .throughput: "provisioned throughput"
        case .deployment: "custom model deployment"
        }
    }
}
