import AdapterKit
import FinetunedAdapters
import FinetunedConfig
import Foundation

/// A configuration together with the adapters it was checked against: what a start or a
/// reload either applies as a whole or refuses as a whole.
public struct DaemonSetup: Sendable {
    public var configuration: DaemonConfiguration
    public var adapters: AdapterSet
    public var profiles: [String: ResolvedProfile]
    /// Problems that do not stop the daemon: end-of-life models, refused plugins.
    public var warnings: [String]
}

/// Reads the configuration, scans its adapter directories and checks every profile.
public struct SetupLoader: Sendable {
    let adapterLoader: AdapterLoader
    let today: @Sendable () -> String

    public init(adapterLoader: AdapterLoader = AdapterLoader(), today: @escaping @Sendable () -> String = LifecycleCalendar.today) {
        self.adapterLoader = adapterLoader
        self.today = today
    }

    public func load(path: String) async throws(ConfigurationError) -> DaemonSetup {
        let configuration = try ConfigurationLoader.load(path: path)
        let adapters = await adapterLoader.scan(directories: configuration.adapterDirectories)
        let check = ProfileCheck.check(configuration, adapters: adapters, today: today())
        guard check.errors.isEmpty else { throw ConfigurationError(check.errors) }
        let warnings = adapters.refusals.map(\.description) + check.warnings.map(\.description)
        return DaemonSetup(configuration: configuration, adapters: adapters, profiles: check.profiles, warnings: warnings)
    }
}
