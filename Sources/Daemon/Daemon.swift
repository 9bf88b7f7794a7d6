import FinetunedConfig
import FinetunedControl
import FinetunedSystemd
import Foundation
import Logging
import ServiceLifecycle

/// Wires the daemon's services into one `ServiceGroup` and runs it until SIGTERM.
///
/// SIGTERM and SIGINT shut down gracefully within `shutdown_timeout_seconds`: no new work is
/// taken, state is saved, and running workflows are left to resume at the next start.
public struct Daemon {
    let configuration: DaemonConfiguration
    let loadConfiguration: DaemonRuntime.ConfigurationSource
    let notifier: ServiceNotifier
    let logger: Logger

    public init(
        configuration: DaemonConfiguration, logger: Logger,
        notifier: ServiceNotifier = ServiceNotifier(),
        loadConfiguration: @escaping DaemonRuntime.ConfigurationSource
    ) {
        self.configuration = configuration
        self.loadConfiguration = loadConfiguration
        self.notifier = notifier
        self.logger = logger
    }

    public func run() async throws {
        let runtime = DaemonRuntime(
            configuration: configuration, notifier: notifier, logger: logger,
            loadConfiguration: loadConfiguration)
        let gate = ReadinessGate(components: ["control"], notifier: notifier, logger: logger) {
            await runtime.summary
        }
        try prepareDirectories()

        let socketPath = configuration.daemon.runtimeDirectory + "/" + ControlProtocol.socketName
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: ControlServer(
                socketPath: socketPath, group: configuration.daemon.controlGroup,
                handler: DaemonControlHandler(runtime: runtime, logger: logger), logger: logger,
                ready: { await gate.markReady("control") })),
            .init(service: ReloadService(runtime: runtime)),
        ]
        if let interval = notifier.watchdogInterval() {
            services.append(.init(service: WatchdogService(notifier: notifier, interval: interval, logger: logger)))
        }
        services.append(.init(service: ShutdownAnnouncer(notifier: notifier, logger: logger)))

        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.daemon.shutdownTimeoutSeconds)
        logger.info("starting", metadata: [
            "version": "\(FinetunedVersion.current)", "config_file": "\(configuration.file)",
            "socket": "\(socketPath)",
        ])
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.info("stopped")
    }

    /// Creates the runtime directory when not running under systemd (which creates it from
    /// `RuntimeDirectory=`), so a foreground run needs no preparation.
    private func prepareDirectories() throws {
        try FileManager.default.createDirectory(
            atPath: configuration.daemon.runtimeDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o750])
    }
}
