import FinetunedBackends
import FinetunedConfig
import FinetunedWorkflow

/// The backends the configuration declares, built on first use and rebuilt when a reload
/// changes their settings. A backend keeps state (connections, the local model), so it is
/// shared by every workflow that names it.
actor BackendRegistry {
    private var built: [String: (configuration: BackendConfiguration, backend: any CustomizationBackend)] = [:]

    func backend(for configuration: BackendConfiguration) throws -> any CustomizationBackend {
        if let cached = built[configuration.name], cached.configuration == configuration { return cached.backend }
        let backend: any CustomizationBackend
        switch configuration.kind {
        case .scripted:
            backend = ScriptedBackend(name: configuration.name, script: configuration.script ?? ScriptSettings())
        case .bedrock:
            throw BackendUnavailable("backend '\(configuration.name)': the Amazon Bedrock client is not part of this build yet")
        case .local:
            throw BackendUnavailable("backend '\(configuration.name)': the local backend is not part of this build yet")
        }
        built[configuration.name] = (configuration, backend)
        return backend
    }
}

struct BackendUnavailable: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
