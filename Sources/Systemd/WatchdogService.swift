import FinetunedFaults
import FinetunedTime
import Logging
import ServiceLifecycle

/// Pings the systemd watchdog at half the interval the manager asked for.
///
/// The pings come from a task inside the service group, so a daemon whose cooperative
/// executor is wedged stops pinging and gets restarted, which is the point of the watchdog.
public struct WatchdogService: Service, CustomStringConvertible {
    /// The name the service group logs it by; interpolating the struct itself would reflect over
    /// every field (configuration included).
    public var description: String { "watchdog" }

    let notifier: ServiceNotifier
    let interval: Duration
    let logger: Logger
    /// Test only: stop pinging after this long, as a hung daemon would.

    public init(notifier: ServiceNotifier, interval: Duration, logger: Logger) {
        self.notifier = notifier
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        // Stop pinging as soon as shutdown begins: systemd's stop timeout takes over then.
        await cancelWhenGracefulShutdown { await self.pingUntilCancelled() }
    }

    private func pingUntilCancelled() async {
        let period = interval / 2
        logger.info("watchdog enabled", metadata: ["watchdog_period_ms": "\(period.milliseconds)"])
        notifier.watchdogPing()
        let started = ContinuousClock.now, stopAfter = Faults.current.stopWatchdogAfter
        while !Task.isCancelled {
            do {
                try await Timers.sleep(for: period)
            } catch {
                return
            }
            if let stopAfter, ContinuousClock.now - started >= stopAfter {
                logger.warning("test fault: no more watchdog pings (the daemon now looks hung to systemd)")
                while !Task.isCancelled { try? await Timers.sleep(for: .seconds(3600)) }
                return
            }
            notifier.watchdogPing()
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
