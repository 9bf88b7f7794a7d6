import FinetunedTime
import Foundation
import Synchronization

/// Fault switches for tests that must provoke what production rarely shows (an inotify queue
/// overflow, a crash between a backend's answer and its record, a hung daemon), read once from
/// `FINETUNED_TEST_FAULTS` (`name=value,name`) and handed to everything the daemon runs through
/// the task-local `Faults.current`, so no constructor carries a test hook.
///
/// Every switch only makes the daemon slower or less lucky, never less safe; still, only debug
/// builds read the variable (the tests, `make demo` and the systemd end-to-end test run debug
/// builds): in a release build, as installed for production, `Faults.current` is always
/// `.none` and an environment variable cannot crash the daemon.
public final class Faults: Sendable {
    /// The daemon's switches, bound by `Daemon.run` for everything it starts. Child tasks and
    /// `Task {}` inherit it; a thread does not, so code that starts one reads it first.
    @TaskLocal public static var current = Faults.none

    public static let none = Faults()

    /// Pause of the inotify reader after each read, so a burst of drops overflows the queue.
    public let inotifyReadDelay: Duration
    /// A pause on each admission's thread before it reads the drop, so a test sees the daemon
    /// ready, answering and claiming while a drop is being checked.
    public let admissionDelay: Duration
    /// `abort()` right after the n-th committed workflow transition of this process.
    public let abortAfterTransition: Int?
    /// `abort()` right after the n-th backend call of this process returned, before its
    /// answer is recorded. The crash tests walk n over a whole run.
    public let abortAfterRequest: Int?
    /// `abort()` right after the first backend call of this name answered (`create-deployment`):
    /// for a test that needs one particular crash point without walking them all.
    public let abortAfterCall: String?
    /// `abort()` right after the local backend saved the n-th epoch of a training run.
    public let abortAfterEpoch: Int?
    /// A pause after each local training epoch, so a test can stop the daemon mid-training.
    public let epochDelay: Duration
    /// Stop the watchdog pings this long after start: a hung daemon, for systemd to kill.
    public let stopWatchdogAfter: Duration?
    /// `abort()` just before the first delivery over a channel other than the journal: the
    /// notification is committed, not yet sent.
    public let abortBeforeNotification: Bool
    /// After start, try to create this file and log what happened (the sandbox test).
    public let probeWrite: String?
    /// Every event message and failure reason the store records is reworded (`reworded(_:)`),
    /// so a test shows that no behaviour depends on their words.
    public let rewordMessages: Bool

    private let transitions = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)

    public init(
        inotifyReadDelay: Duration = .zero, admissionDelay: Duration = .zero, abortAfterTransition: Int? = nil,
        abortAfterRequest: Int? = nil, abortAfterCall: String? = nil, abortAfterEpoch: Int? = nil, epochDelay: Duration = .zero,
        stopWatchdogAfter: Duration? = nil, abortBeforeNotification: Bool = false, probeWrite: String? = nil,
        rewordMessages: Bool = false
    ) {
        self.inotifyReadDelay = inotifyReadDelay
        self.admissionDelay = admissionDelay
        self.abortAfterTransition = abortAfterTransition
        self.abortAfterRequest = abortAfterRequest
        self.abortAfterCall = abortAfterCall
        self.abortAfterEpoch = abortAfterEpoch
        self.epochDelay = epochDelay
        self.stopWatchdogAfter = stopWatchdogAfter
        self.abortBeforeNotification = abortBeforeNotification
        self.probeWrite = probeWrite
        self.rewordMessages = rewordMessages
    }

    /// The switches `FINETUNED_TEST_FAULTS` names in a debug build; `.none` in a release build.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Faults {
        #if DEBUG
            guard let spec = environment["FINETUNED_TEST_FAULTS"] else { return .none }
            var values: [String: String] = [:]
            for item in spec.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                values[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            func milliseconds(_ name: String) -> Duration { .milliseconds(values[name].flatMap { Int($0) } ?? 0) }
            return Faults(
                inotifyReadDelay: milliseconds("inotify-read-delay-ms"), admissionDelay: milliseconds("admission-delay-ms"),
                abortAfterTransition: values["abort-after-transition"].flatMap { Int($0) },
                abortAfterRequest: values["abort-after-request"].flatMap { Int($0) },
                abortAfterCall: values["abort-after-call"].flatMap { $0.isEmpty ? nil : $0 },
                abortAfterEpoch: values["abort-after-epoch"].flatMap { Int($0) }, epochDelay: milliseconds("epoch-delay-ms"),
                stopWatchdogAfter: values["stop-watchdog-after"].flatMap { Int($0) }.map { .seconds($0) },
                abortBeforeNotification: values["abort-before-notification"] != nil,
                probeWrite: values["probe-write"].flatMap { $0.isEmpty ? nil : $0 },
                rewordMessages: values["reword-messages"] != nil)
        #else
            return .none
        #endif
    }

    /// `text`, or with `rewordMessages` the same words in reverse order behind a marker: what a
    /// careless edit of every message at once would do to anything that parsed them.
    public func reworded(_ text: String) -> String {
        guard rewordMessages else { return text }
        return Self.rewordMarker + text.split(separator: " ").reversed().joined(separator: " ")
    }

    public static let rewordMarker = "(reworded) "

    /// A workflow transition was committed.
    public func transitionCommitted() {
        let n = transitions.add(1, ordering: .relaxed).newValue
        if n == abortAfterTransition { crash("after transition \(n)") }
    }

    /// A backend call answered; its answer is not recorded yet.
    public func requestAnswered(_ name: String? = nil) {
        let n = requests.add(1, ordering: .relaxed).newValue
        if n == abortAfterRequest { crash("after request \(n)") }
        if let name, name == abortAfterCall { crash("after \(name) answered") }
    }

    /// The local backend saved epoch `epoch` of a training run.
    public func epochSaved(_ epoch: Int) {
        if let abortAfterEpoch, epoch == abortAfterEpoch { crash("after epoch \(epoch)") }
        if epochDelay > .zero { Thread.sleep(forTimeInterval: epochDelay.seconds) }
    }

    /// A notification is about to go out over `channel`.
    public func deliveryStarting(channel: String) {
        if abortBeforeNotification && channel != "log" { crash("before delivering a notification") }
    }

    private func crash(_ point: String) -> Never {
        // No core file: a crash test aborts dozens of times.
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        let message = "finetuned: test fault: aborting \(point)\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        abort()
    }
}
