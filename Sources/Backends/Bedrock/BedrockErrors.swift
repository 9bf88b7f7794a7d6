import FinetunedNetwork
import FinetunedWorkflow

/// How the engine should treat an AWS error: the service's own code and message are kept,
/// because "ValidationException: The provided job name is currently in use." is what the
/// operator needs to read, not a paraphrase.
enum BedrockErrors {
    static func map(_ error: AWSError, _ operation: String) -> BackendError {
        let text = "\(operation): \(error.label): \(error.message)"
        if error.isThrottling { return .throttled(message: text, retryAfter: error.retryAfter) }
        if error.isRetryable { return .transient(text) }
        if error.code == "ResourceNotFoundException" || error.code == "NoSuchKey" || error.status == 404 { return .notFound(text) }
        if error.code == "ServiceQuotaExceededException" || error.code == "TooManyTagsException" { return .quotaExceeded(text) }
        return .permanent(text)
    }

    /// "The provided job name is currently in use." and its relatives.
    static func isNameCollision(_ error: AWSError) -> Bool {
        error.code == "ResourceInUseException" || error.code == "ConflictException"
            || (error.code == "ValidationException" && error.message.lowercased().contains("in use"))
            || error.message.lowercased().contains("already exists")
    }
}
