import FinetunedConfig
import FinetunedControl
import FinetunedSystemd
import FinetunedTime
import FinetunedWorkflow
import Foundation
import Logging

/// The daemon's mutable, shared state: the configuration in force and what it has done.
///
/// An actor, so a reload (from SIGHUP or from `finetunectl reload`) and a status request
/// never see a half-swapped configuration, and two reloads never interleave.
public actor DaemonRuntime {
    public private(set) var setup: DaemonSetup
    public var configuration: DaemonConfiguration { setup.configuration }
    let loader: SetupLoader
    let notifier: ServiceNotifier
    let logger: Logger
    let startedAt: Date
    private var loadedAt: Date
    private var reloads = 0
    private var failedReloads = 0
    private var lastReloadError: String?
    private var counts = WorkflowCounts()
    private var lastEvent: String?
    private var reloadChain: Task<ReloadOutcome, Never>?
    private var appliedHandlers: [@Sendable () async -> Void] = []

    /// Runs `handler` after every reload that applied a new setup (the inbox resyncs its folders).
    public func onApplied(_ handler: @escaping @Sendable () async -> Void) {
        appliedHandlers.append(handler)
    }

    let store: any WorkflowStore
    public init(setup: DaemonSetup, loader: SetupLoader, store: any WorkflowStore, notifier: ServiceNotifier, logger: Logger) {
        self.setup = setup
        self.loader = loader
        self.store = store
        self.notifier = notifier
        self.logger = logger
        self.startedAt = Date()
        self.loadedAt = startedAt
    }

    /// Re-reads the configuration file and rescans the adapter directories. A broken file is
    /// refused and the setup in force stays: a typo must never take a running daemon down.
    /// Running workflows keep the profile they started with.
    @discardableResult
    public func reload(trigger: String) async -> ReloadOutcome {
        // Reloads queue behind each other: the actor alone would interleave them at the
        // adapter scan, and two RELOADING/READY pairs must not overlap.
        let previous = reloadChain
        let next = Task {
            _ = await previous?.value
            return await self.performReload(trigger: trigger)
        }
        reloadChain = next
        return await next.value
    }

    private func performReload(trigger: String) async -> ReloadOutcome {
        notifier.reloading()
        let file = configuration.file
        defer { notifier.ready(status: summary) }
        do {
            let next = try await loader.load(path: file)
            setup = next
            Self.logWarnings(next, logger: logger)
            for handler in appliedHandlers { await handler() }
            loadedAt = Date()
            reloads += 1
            lastReloadError = nil
            logger.notice(
                "configuration reloaded",
                metadata: [
                    LogMessageID.configurationReloaded.metadata.key: "\(LogMessageID.configurationReloaded.metadata.value)",
                    "trigger": "\(trigger)", "config_file": "\(file)", "profiles": "\(next.profiles.count)",
                    "adapters": "\(next.adapters.names.sorted().joined(separator: ","))",
                ])
            return .applied(profiles: next.profiles.keys.sorted())
        } catch {
            failedReloads += 1
            lastReloadError = error.description
            logger.error(
                "configuration refused, the previous one stays in force: \(error.description)",
                metadata: [
                    LogMessageID.configurationRejected.metadata.key: "\(LogMessageID.configurationRejected.metadata.value)",
                    "trigger": "\(trigger)", "config_file": "\(file)",
                ])
            return .refused(diagnostics: error.diagnostics.map(\.description))
        }
    }

    /// Refused plugins and lifecycle warnings, each its own journal entry.
    static func logWarnings(_ setup: DaemonSetup, logger: Logger) {
        for refusal in setup.adapters.refusals {
            logger.error("\(refusal.description)", metadata: ["adapter_path": "\(refusal.path)"])
        }
        for warning in setup.warnings where !setup.adapters.refusals.contains(where: { $0.description == warning }) {
            logger.warning("\(warning)")
        }
    }

    /// Recounts workflows from the store and sends the new `STATUS=` line.
    public func refreshStatus() async {
        do {
            let stages = try await store.stageCounts()
            func count(_ matching: (WorkflowStage) -> Bool) -> Int {
                stages.filter { matching($0.key) }.map(\.value).reduce(0, +)
            }
            counts = WorkflowCounts(
                running: count { !$0.isTerminal && $0 != .validated && $0 != .claiming && $0 != .claimed },
                waiting: count { $0 == .validated || $0 == .claimed },
                succeeded: stages[.done] ?? 0, failed: stages[.failed] ?? 0,
                rejected: stages[.rejected] ?? 0, cancelled: stages[.cancelled] ?? 0)
            if let latest = try await store.recentWorkflows(limit: 1).first {
                lastEvent = "\(latest.profile)/\(latest.dropName) \(latest.stage.rawValue)"
            }
        } catch {
            logger.error("cannot count workflows: \(error)")
        }
        notifier.status(summary)
    }

    private var statusRefreshPending = false

    /// Coalesces the `STATUS=` updates of many transitions into one every 100 ms: a thousand
    /// workflows moving at once must not recount the store a thousand times.
    func statusChanged() {
        guard !statusRefreshPending else { return }
        statusRefreshPending = true
        Task {
            try? await Timers.sleep(for: .milliseconds(100))
            await self.finishStatusRefresh()
        }
    }

    private func finishStatusRefresh() async {
        statusRefreshPending = false
        await refreshStatus()
    }

    private var storeTrouble: String?

    /// The inbox found the store unwritable (a message) or writable again (nil).
    func setStoreTrouble(_ message: String?) {
        storeTrouble = message
        notifier.status(summary)
    }

    /// The one line `systemctl status` shows.
    public var summary: String {
        if let storeTrouble { return "NOT TAKING DROPS: " + storeTrouble }
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
