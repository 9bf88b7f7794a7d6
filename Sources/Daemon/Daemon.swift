import FinetunedConfig
import FinetunedControl
import FinetunedFaults
import FinetunedInbox
import FinetunedMetrics
import FinetunedModelWorker
import FinetunedNotification
import FinetunedPostgreSQLStore
import FinetunedSystemd
import FinetunedWorkflow
import Foundation
import Logging
import ServiceLifecycle

/// Wires the daemon's services into one `ServiceGroup` and runs it until SIGTERM.
///
/// SIGTERM and SIGINT shut down gracefully within `shutdown_timeout_seconds`: no new work is
/// taken, state is saved, and running workflows are left to resume at the next start.
public struct Daemon {
    let setup: DaemonSetup
    let loader: SetupLoader
    let notifier: ServiceNotifier
    let logger: Logger
    let modelWorker: ModelWorkerLauncher
    var configuration: DaemonConfiguration { setup.configuration }

    /// - Parameter modelWorker: how to start the processes that hold the model.
    public init(
        setup: DaemonSetup, loader: SetupLoader, logger: Logger, modelWorker: ModelWorkerLauncher,
        notifier: ServiceNotifier = ServiceNotifier()
    ) {
        self.setup = setup
        self.loader = loader
        self.notifier = notifier
        self.logger = logger
        self.modelWorker = modelWorker
    }

    public func run() async throws {
        // Read once; everything the daemon starts reads it as `Faults.current`.
        try await Faults.$current.withValue(Faults.fromEnvironment()) {
            try prepareDirectories()
            // swift-metrics is bootstrapped before anything records, so no early count is lost.
            _ = MetricsRegistry.shared
            if let settings = configuration.store {
                try await runOnPostgreSQL(settings)
            } else {
                try await runServices(store: try SQLiteWorkflowStore(path: configuration.paths.state + "/finetuned.sqlite", node: .machine()))
            }
        }
    }

    /// The services on a PostgreSQL store, whose connection pool runs beside them; the schema
    /// is migrated and this node's id claimed (one daemon per id) before anything reads it.
    private func runOnPostgreSQL(_ settings: StoreSettings) async throws {
        let node = settings.nodeID.map { NodeID($0) } ?? .machine()
        let store = PostgreSQLWorkflowStore(
            configuration: PostgreSQLWorkflowStore.configuration(for: settings, password: try PostgreSQLWorkflowStore.password(for: settings)),
            node: node, logger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await store.run() }
            try await store.migrate()
            let (answer, answered) = AsyncStream.makeStream(of: StoreError?.self)
            group.addTask { await store.holdNodeID { answered.yield($0) } }
            for await refusal in answer {
                if let refusal { throw refusal }
                break
            }
            logger.info(
                "workflow store: PostgreSQL \(settings.url), as node \(node) (leases of \(settings.lease.components.seconds) s)",
                metadata: ["store": "postgresql", "node": "\(node)"])
            try await runServices(store: store)
            group.cancelAll()
        }
    }

    private func runServices(store: any WorkflowStore) async throws {
        let paths = configuration.paths
        let runtime = DaemonRuntime(setup: setup, loader: loader, store: store, notifier: notifier, logger: logger)
        DaemonRuntime.logWarnings(setup, logger: logger)
        let layout = InboxLayout(
            inbox: paths.inbox, spool: paths.state + "/spool", rejected: paths.rejected,
            archive: paths.archive, submitGroup: configuration.inbox.submitGroup)
        let outbox = OutboxDispatcher(
            store: store, logger: logger, channels: OutboxDispatcher.channels(for: configuration.notifications, logger: logger))
        let models = ModelServer(launcher: modelWorker, modelDirectory: paths.models + "/all-MiniLM-L6-v2", logger: logger)
        let environment = DaemonEnvironment(
            runtime: runtime, registry: BackendRegistry(stateDirectory: paths.state, models: models, logger: logger),
            layout: layout, evaluator: BERTEvaluator(server: models, settings: configuration.evaluation), outbox: outbox, models: models)
        let engine = WorkflowEngine(store: store, environment: environment, policy: EnginePolicy(configuration), logger: logger)
        let probe = Faults.current.probeWrite, probeLogger = logger
        let gate = ReadinessGate(components: ["control", "inbox", "engine"], notifier: notifier, logger: logger) {
            await runtime.refreshStatus()
            if let probe { Daemon.probeWrite(probe, logger: probeLogger) }
            return await runtime.summary
        }
        let inbox = Inbox(
            layout: layout, store: store, requireGroup: configuration.inbox.requireGroup, logger: logger,
            profiles: { await runtime.setup.profiles },
            onProcessed: {
                engine.poke()
                outbox.poke()
                await runtime.statusChanged()
            },
            onStoreTrouble: { await runtime.setStoreTrouble($0) },
            notificationChannels: { await environment.notificationChannels() })
        await runtime.onApplied { try? await inbox.resync() }
        await runtime.onApplied { await engine.update(policy: EnginePolicy(await runtime.configuration)) }
        await runtime.onApplied {
            await outbox.update(channels: OutboxDispatcher.channels(for: await runtime.configuration.notifications, logger: runtime.logger))
        }

        let socketPath = configuration.daemon.runtimeDirectory + "/" + ControlProtocol.socketName
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: ControlServer(
                    socketPath: socketPath, group: configuration.daemon.controlGroup,
                    handler: DaemonControlHandler(
                        runtime: runtime, engine: engine, logger: logger, backend: { try await environment.backend(named: $0) }),
                    logger: logger,
                    ready: { await gate.markReady("control") })),
            .init(service: ReloadService(runtime: runtime)),
            .init(service: InboxService(inbox: inbox, ready: { await gate.markReady("inbox") })),
            .init(
                service: EngineService(
                    engine: engine, janitor: Janitor(store: store, environment: environment, logger: logger), store: store,
                    logger: logger, ready: { await gate.markReady("engine") })),
            .init(service: outbox),
        ]
        if let metrics = configuration.metrics {
            // A change to [metrics] takes effect at the next start: the address is bound once.
            let registry = MetricsRegistry.shared
            services.append(
                .init(
                    service: MetricsEndpoint(host: metrics.host, port: metrics.port, logger: logger) {
                        await registry.exposition(store: store)
                    }))
        }
        if let interval = notifier.watchdogInterval() {
            services.append(
                .init(
                    service: WatchdogService(notifier: notifier, interval: interval, logger: logger)))
        }
        services.append(.init(service: ShutdownAnnouncer(notifier: notifier, logger: logger)))

        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.daemon.shutdownTimeout
        logger.info(
            "starting",
            metadata: [
                "version": "\(FinetunedVersion.current)", "config_file": "\(configuration.file)",
                "socket": "\(socketPath)", "adapters": "\(setup.adapters.names.sorted().joined(separator: ","))",
            ])
        try await ServiceGroup(configuration: groupConfiguration).run()
        logger.info("stopped")
    }

    /// Test only: shows in the journal what the sandbox does to a write outside the daemon's
    /// own directories.
    static func probeWrite(_ path: String, logger: Logger) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd >= 0 {
            close(fd)
            unlink(path)
            logger.error("test fault: probe write to \(path) succeeded: the sandbox did not stop it", metadata: ["probe": "written"])
        } else {
            let code = errno
            logger.notice(
                "test fault: probe write to \(path) refused: \(String(cString: strerror(code)))",
                metadata: ["probe": "refused", "errno": "\(code)"])
        }
    }

    /// Creates the runtime directory when not running under systemd (which creates it from
    /// `RuntimeDirectory=`), so a foreground run needs no preparation.
    private func prepareDirectories() throws {
        for directory in [configuration.daemon.runtimeDirectory, configuration.paths.state] {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
    }
}
