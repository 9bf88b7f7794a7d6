import Foundation

/// Tells the service manager about the daemon's state, the way `sd_notify(3)` does: one
/// datagram of `KEY=value` lines to the socket named in `NOTIFY_SOCKET`.
///
/// Every call is a no-op when `NOTIFY_SOCKET` is unset, so the same code runs in the
/// foreground, under tests and under systemd. The environment is left intact: a reload
/// or a watchdog ping later in the process's life must still find the socket.
public struct ServiceNotifier: Sendable {
    public init() {}

    /// Sends raw `KEY=value` assignments in one datagram; returns false if nothing was sent.
    @discardableResult
    public func send(_ assignments: [String]) -> Bool {
        guard let name = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }) else { return false }
        return Self.send(assignments, toSocketNamed: name)
    }

    /// `name` as `NOTIFY_SOCKET` gives it: a path, or `@name` in the abstract namespace.
    static func send(_ assignments: [String], toSocketNamed name: String) -> Bool {
        guard !assignments.isEmpty, let address = UnixSocketAddress(name) else { return false }
        let socket = UnixSocketAddress.datagramSocket()
        guard socket >= 0 else { return false }
        defer { close(socket) }
        return Array(assignments.joined(separator: "\n").utf8).withUnsafeBytes { address.send($0, from: socket) } == 0
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

    /// The watchdog interval the manager expects pings within, if it set one for this process:
    /// `WATCHDOG_USEC`, unless `WATCHDOG_PID` names another process (a parent's setting
    /// inherited by a child is not the child's).
    public func watchdogInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0, usec < UInt64.max else { return nil }
        if let pid = environment["WATCHDOG_PID"], Int32(pid) != getpid() { return nil }
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
