import FinetunedSystemd
import Logging

/// Sends `READY=1` once every component the daemon waits for has said it is ready.
///
/// `systemctl start` returns at that moment, so "ready" must mean ready: the control socket
/// answers (and, as they arrive, the inbox is watched and interrupted workflows resumed).
actor ReadinessGate {
    private var pending: Set<String>
    private let notifier: ServiceNotifier
    private let logger: Logger
    private let status: @Sendable () async -> String
    private(set) var isReady = false

    init(components: Set<String>, notifier: ServiceNotifier, logger: Logger, status: @escaping @Sendable () async -> String) {
        self.pending = components
        self.notifier = notifier
        self.logger = logger
        self.status = status
    }

    func markReady(_ component: String) async {
        guard pending.remove(component) != nil, pending.isEmpty, !isReady else { return }
        isReady = true
        let summary = await status()
        notifier.ready(status: summary)
        logger.notice(
            "finetuned ready",
            metadata: [
                LogMessageID.daemonReady.metadata.key: "\(LogMessageID.daemonReady.metadata.value)"
            ])
    }
}
