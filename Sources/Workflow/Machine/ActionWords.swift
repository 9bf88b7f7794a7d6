/// What each step is called where people read it: the journal, `finetunectl show`, a
/// notification. A Swift value's description (`runInference(…Model.base)`) is not words.
extension WorkflowMachine.Action {
    public var words: String {
        switch self {
        case .upload: "uploading the training data"
        case .createJob: "creating the customization job"
        case .pollJob: "checking on the customization job"
        case .stopJob: "stopping the customization job"
        case .createThroughput: "creating the provisioned throughput"
        case .pollThroughput: "checking on the provisioned throughput"
        case .runInference(.base): "asking the base model"
        case .runInference(.custom): "asking the custom model"
        case .score: "scoring the answers"
        case .decide: "deciding whether to keep the custom model"
        case .deleteThroughput: "deleting the provisioned throughput"
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
        }
    }
}
