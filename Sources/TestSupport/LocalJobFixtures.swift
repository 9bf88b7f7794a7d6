import FinetunedWorkflow
import Foundation

/// A local-backend job as the local backend's unit tests and the model worker's tests start it.
public enum LocalJobFixtures {
    /// The first `lines` lines of one of `examples/`'s files.
    public static func examples(_ name: String, lines: Int) throws -> String {
        let path = BuiltProducts.packageRoot.appendingPathComponent("examples/" + name).path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").prefix(lines).joined(separator: "\n") + "\n"
    }

    public static func request(_ uri: String, token: String = "tok1", name: String = "job-a1") -> JobRequest {
        JobRequest(
            jobName: name, customModelName: "model-" + name, baseModel: "local.minilm-extractive-v1", trainingDataURI: uri,
            hyperparameters: ["epochCount": "4", "batchSize": "8", "learningRate": "0.05", "earlyStoppingPatience": "4", "evalPercentage": "20"],
            clientRequestToken: token, tags: ["finetuned:workflow-id": "wf-test"])
    }

    /// The job's state once it is neither in progress nor stopping (30 s at most).
    public static func waitForJob(_ backend: any CustomizationBackend, _ arn: String) async throws -> JobState {
        for _ in 0..<600 {
            let state = try await backend.job(arn)
            if state.status != .inProgress && state.status != .stopping { return state }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await backend.job(arn)
    }
}

/// The smallest configuration that loads: one local backend, one profile.
public enum ConfigurationFixtures {
    public static let minimal = """
        [backends.local]
        kind = "local"

        [profiles.summaries]
        adapter = "cohere"
        base_model = "cohere.command-light-text-v14:7:4k"
        backend = "local"
        """
}
