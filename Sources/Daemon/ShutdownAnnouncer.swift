import FinetunedSystemd
import Logging
import ServiceLifecycle

/// Tells systemd `STOPPING=1` the moment a graceful shutdown begins.
///
/// It is the last service in the group, so the group signals it first; the other services
/// then wind down in reverse order of their start.
struct ShutdownAnnouncer: Service, CustomStringConvertible {
    /// The name the service group logs it by; interpolating the struct itself would reflect over
    /// every field (configuration included).
    var description: String { "shutdown-announcer" }

    let notifier: ServiceNotifier
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        notifier.stopping(status: "stopping: taking no new drops, saving state")
        logger.notice("stopping; running workflows resume at the next start")
    }
}
