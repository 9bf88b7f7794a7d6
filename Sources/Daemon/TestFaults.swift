import Foundation

/// Fault switches for tests that must provoke what production rarely shows (an inotify
/// queue overflow, later a stalled watchdog), read once from `FINETUNED_TEST_FAULTS`
/// (`name=value,name`). Every switch only makes the daemon slower or less lucky, never less
/// safe; still, only debug builds read the variable (the tests, `make demo` and the systemd
/// end-to-end test run debug builds): in a release build, as installed for production, the
/// switches are compiled out and an environment variable cannot crash the daemon.
public struct TestFaults: Sendable {
    /// Pause of the inotify reader after each read, so a burst of drops overflows the queue.
    public var inotifyReadDelay: Duration = .zero
    /// `abort()` right after the n-th committed workflow transition of this process.
    public var abortAfterTransition: Int?
    /// `abort()` right after the n-th backend call of this process returned, before its
    /// answer is recorded.
    public var abortAfterRequest: Int?
    /// `abort()` right after the first backend call of this name answered (`create-deployment`).
    public var abortAfterCall: String?
    /// `abort()` right after the local backend saved the n-th epoch of a training run.
    public var abortAfterEpoch: Int?
    /// A pause after each local training epoch, so a test can stop the daemon mid-training.
    public var epochDelay: Duration = .zero
    /// Stop the watchdog pings this many seconds after start: a hung daemon, for systemd to kill.
    public var stopWatchdogAfter: Duration?
    /// `abort()` just before the first delivery over a channel other than the journal: the
    /// notification is committed, not yet sent.
    public var abortBeforeNotification = false
    /// A pause on each admission's thread before it reads the drop, so a test sees the daemon
    /// ready, answering and claiming while a drop is being checked.
    public var admissionDelay: Duration = .zero
    /// After start, try to create this file and log what happened (the sandbox test).
    public var probeWrite: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        #if DEBUG
            guard let spec = environment["FINETUNED_TEST_FAULTS"] else { return }
            for item in spec.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                switch parts[0] {
                case "inotify-read-delay-ms":
                    inotifyReadDelay = .milliseconds(Int(parts.count > 1 ? parts[1] : "") ?? 0)
                case "admission-delay-ms":
                    admissionDelay = .milliseconds(Int(parts.count > 1 ? parts[1] : "") ?? 0)
                case "abort-after-transition":
                    abortAfterTransition = parts.count > 1 ? Int(parts[1]) : nil
                case "epoch-delay-ms":
                    epochDelay = .milliseconds(Int(parts.count > 1 ? parts[1] : "") ?? 0)
                case "stop-watchdog-after":
                    stopWatchdogAfter = (parts.count > 1 ? Int(parts[1]) : nil).map { .seconds($0) }
                case "abort-before-notification":
                    abortBeforeNotification = true
                case "probe-write":
                    probeWrite = parts.count > 1 ? parts[1] : nil
                case "abort-after-epoch":
                    abortAfterEpoch = parts.count > 1 ? Int(parts[1]) : nil
                case "abort-after-call":
                    abortAfterCall = parts.count > 1 ? parts[1] : nil
                case "abort-after-request":
                    abortAfterRequest = parts.count > 1 ? Int(parts[1]) : nil
                default:
                    break
                }
            }
        #endif
    }
}
