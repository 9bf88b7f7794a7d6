import Logging
import ServiceLifecycle
import UnixSignals

/// Turns `SIGHUP` (`systemctl reload`, `kill -HUP`) into a configuration reload.
///
/// Running workflows are not touched: they keep the profile they started with.
struct ReloadService: Service, CustomStringConvertible {
    /// The name the service group logs it by; interpolating the struct itself would reflect over
    /// every field (configuration included).
    var description: String { "reload" }

    let runtime: DaemonRuntime

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                await runtime.reload(trigger: "SIGHUP")
            }
        }
    }
}
