import FinetunedConfig
import FinetunedControl
import FinetunedSystemd
import Foundation
import Logging

/// The daemon's mutable, shared state: the configuration in force and what it has done.
///
/// An actor, so a reload (from SIGHUP or from `finetunectl reload`) and a status request
/// never see a half-swapped configuration, and two reloads never interleave.
public actor DaemonRuntime {
    public typealias ConfigurationSource = @Sendable (String) throws(ConfigurationError) -> DaemonConfiguration

    public private(set) var configuration: DaemonConfiguration
    let loadConfiguration: ConfigurationSource
    let notifier: ServiceNotifier
    let logger: Logger
    let startedAt: Date
    private var loadedAt: Date
    private var reloads = 0
    private var failedReloads = 0
    private var lastReloadError: String?
    private var counts = WorkflowCounts()
    private var lastEvent: String?

    public init(
        configuration: DaemonConfiguration, notifier: ServiceNotifier, logger: Logger,
        loadConfiguration: @escaping ConfigurationSource
    ) {
        self.configuration = configuration
        self.loadConfiguration = loadConfiguration
        self.notifier = notifier
        self.logger = logger
        self.startedAt = Date()
        self.loadedAt = startedAt
    }

    /// Re-reads the configuration file. A broken file is refused and the configuration in
    /// force stays: a typo must never take a running daemon down.
    @discardableResult
    public func reload(trigger: String) -> ReloadOutcome {
        notifier.reloading()
        defer { notifier.ready(status: summary) }
        let file = configuration.file
        do {
            let next = try loadConfiguration(file)
            configuration = next
            loadedAt = Date()
            reloads += 1
            lastReloadError = nil
            logger.notice("configuration reloaded", metadata: [
                LogMessageID.configurationReloaded.metadata.key: "\(LogMessageID.configurationReloaded.metadata.value)",
                "trigger": "\(trigger)", "config_file": "\(file)", "profiles": "\(next.profiles.count)",
            ])
            return .applied(profiles: next.profiles.keys.sorted())
        } catch {
            failedReloads += 1
            lastReloadError = error.description
            logger.error("configuration refused, the previous one stays in force: \(error.description)", metadata: [
                LogMessageID.configurationRejected.metadata.key: "\(LogMessageID.configurationRejected.metadata.value)",
                "trigger": "\(trigger)", "config_file": "\(file)",
            ])
            return .refused(diagnostics: error.diagnostics.map(\.description))
        }
    }

    /// The one line `systemctl status` shows.
    public var summary: String {
        let workflows = counts.running == 1 ? "1 workflow running" : "\(counts.running) workflows running"
        return "\(workflows), \(counts.waiting) waiting; last: \(lastEvent ?? "none")"
    }

    public func status() -> DaemonStatus {
        DaemonStatus(
            daemonVersion: FinetunedVersion.current, pid: getpid(), startedAt: startedAt,
            uptimeSeconds: Date().timeIntervalSince(startedAt), configurationFile: configuration.file,
            configurationLoadedAt: loadedAt, reloads: reloads, failedReloads: failedReloads,
            lastReloadError: lastReloadError, adapterDirectories: configuration.adapterDirectories,
            inbox: configuration.paths.inbox, stateDirectory: configuration.paths.state,
            profiles: configuration.profiles.keys.sorted(), counts: counts, summary: summary)
    }
}
