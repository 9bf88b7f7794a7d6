import Foundation

/// Fault switches for tests that must provoke what production rarely shows (an inotify
/// queue overflow, later a stalled watchdog), read once from `FINETUNED_TEST_FAULTS`
/// (`name=value,name`). Unset in production; every switch only makes the daemon slower or
/// less lucky, never less safe.
public struct TestFaults: Sendable {
    /// Pause of the inotify reader after each read, so a burst of drops overflows the queue.
    public var inotifyReadDelay: Duration = .zero

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let spec = environment["FINETUNED_TEST_FAULTS"] else { return }
        for item in spec.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            switch parts[0] {
            case "inotify-read-delay-ms":
                inotifyReadDelay = .milliseconds(Int(parts.count > 1 ? parts[1] : "") ?? 0)
            default:
                break
            }
        }
    }
}
