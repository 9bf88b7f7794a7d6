import FinetunedBedrockBackend
import FinetunedConfig
import FinetunedFaults
import FinetunedLocalBackend
import FinetunedModelWorker
import FinetunedNotification
import FinetunedScriptedBackend
import FinetunedText
import FinetunedWorkflow
import Foundation
import Logging

/// The backends the configuration declares, built on first use and rebuilt when a reload
/// changes their settings. A backend keeps state (connections, the local model), so it is
/// shared by every workflow that names it.
actor BackendRegistry {
    private var built: [String: (configuration: BackendConfiguration, backend: any CustomizationBackend)] = [:]
    let stateDirectory: String
    /// The local backend's work: inference in the shared worker, training in workers of its own.
    let models: ModelServer
    let logger: Logger

    init(stateDirectory: String, models: ModelServer, logger: Logger) {
        self.stateDirectory = stateDirectory
        self.models = models
        self.logger = logger
    }

    func backend(for configuration: BackendConfiguration) throws -> any CustomizationBackend {
        if let cached = built[configuration.name], cached.configuration == configuration { return cached.backend }
        let backend: any CustomizationBackend
        switch configuration.kind {
        case .scripted:
            backend = ScriptedBackend(name: configuration.name, script: configuration.script ?? ScriptSettings())
        case .bedrock:
            guard let settings = configuration.bedrock else {
                throw Failure(.backendUnavailable, "backend '\(configuration.name)': no Bedrock settings")
            }
            do {
                backend = try BedrockBackend(name: configuration.name, settings: settings, logger: logger)
            } catch {
                throw Failure(.backendUnavailable, "backend '\(configuration.name)': \(error.description)")
            }
        case .local:
            // Everything the local backend "creates" lives here, beside the store, so it
            // survives restarts exactly as the store does.
            // Epochs are reported on the worker's reader thread, which no task-local reaches.
            let faults = Faults.current
            let compute = WorkerCompute(server: models, logger: logger, afterEpoch: { faults.epochSaved($0) })
            backend = LocalBackend(name: configuration.name, root: stateDirectory + "/local/" + configuration.name, compute: compute, logger: logger)
        }
        let metered = MeteredBackend(backend, name: configuration.name)
        built[configuration.name] = (configuration, metered)
        return metered
    }
}
