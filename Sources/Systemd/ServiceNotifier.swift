import CSystemd
import Foundation

/// Tells the service manager about the daemon's state through `sd_notify(3)`.
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset, so the same code runs in the
/// foreground, under tests and under systemd. The environment is left intact: a reload
/// or a watchdog ping later in the process's life must still find the socket.
public struct ServiceNotifier: Sendable {
    public init() {}

    /// Sends raw `KEY=value` assignments in one datagram; returns false if nothing was sent.
    @discardableResult
    public func send(_ assignments: [String]) -> Bool {
        guard !assignments.isEmpty else { return false }
        let state = assignments.joined(separator: "\n")
        return sd_notify(0, state) > 0
    }

    /// Startup finished: the unit becomes active and `systemctl start` returns.
    public func ready(status: String? = nil) {
        send(["READY=1"] + (status.map { ["STATUS=\(Self.oneLine($0))"] } ?? []))
    }

    /// The one-line summary `systemctl status` shows.
    public func status(_ text: String) {
        send(["STATUS=\(Self.oneLine(text))"])
    }

    public func watchdogPing() {
        send(["WATCHDOG=1"])
    }

    /// Begins a reload; systemd (`Type=notify`) waits for the following `READY=1`.
    /// `MONOTONIC_USEC` lets it tell this reload apart from an earlier one.
    public func reloading() {
        send(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())"])
    }

    public func stopping(status: String? = nil) {
        send(["STOPPING=1"] + (status.map { ["STATUS=\(Self.oneLine($0))"] } ?? []))
    }

    /// The watchdog interval the manager expects pings within, if it set one for this process.
    public func watchdogInterval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
    }

    /// A newline would end the assignment early and turn the rest into a bogus one.
    static func oneLine(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ")
    }
}
