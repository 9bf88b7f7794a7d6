import Foundation

/// A Unix datagram socket standing in for systemd's `NOTIFY_SOCKET`: the test binds it,
/// hands its path to the daemon, and reads the `sd_notify` messages the daemon sends.
///
/// Like systemd, it drains the socket continuously on a thread of its own: the kernel queues
/// only a few datagrams (net.unix.max_dgram_qlen, 10 here), and a full queue blocks the sender.
public final class NotifySocketListener: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let condition = NSCondition()
    private var queue: [Message] = []
    private var closed = false

    /// One datagram, with when it arrived.
    public struct Message: Sendable {
        public var assignments: [String: String]
        public var raw: String
        public var arrival: ContinuousClock.Instant
    }

    /// `path` names a file-system socket, or, starting with `@`, one in the abstract namespace
    /// (systemd hands out either).
    public init(path: String) throws {
        self.path = path
        let abstract = path.hasPrefix("@")
        if !abstract { unlink(path) }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if abstract { bytes[0] = 0 } else { bytes.append(0) }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        let thread = Thread { [weak self] in self?.drain() }
        thread.start()
    }

    deinit {
        close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }

    /// Stops the reader thread; called when the test is done with the socket.
    public func shutdown() {
        condition.lock()
        closed = true
        condition.unlock()
    }

    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            condition.lock()
            let stop = closed
            condition.unlock()
            if stop { return }
            var pollfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, 100) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { continue }
            let text = String(decoding: buffer[0..<n], as: UTF8.self)
            var assignments: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let eq = line.firstIndex(of: "=") else { continue }
                assignments[String(line[..<eq])] = String(line[line.index(after: eq)...])
            }
            condition.lock()
            queue.append(Message(assignments: assignments, raw: text, arrival: .now))
            condition.signal()
            condition.unlock()
        }
    }

    /// The next datagram, or nil when none arrives within `timeout`.
    public func receive(timeout: Duration) -> Message? {
        let seconds = timeout.seconds
        let deadline = Date().addingTimeInterval(max(0, seconds))
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            guard condition.wait(until: deadline) else { break }
        }
        return queue.isEmpty ? nil : queue.removeFirst()
    }

    /// Waits, off the cooperative pool, for the first datagram that satisfies `predicate`.
    public func next(
        where predicate: @escaping @Sendable (Message) -> Bool, timeout: Duration = .seconds(15)
    ) async -> Message? {
        (try? await blocking { self.receive(until: predicate, timeout: timeout).match }) ?? nil
    }

    /// Waits, off the cooperative pool, for one datagram.
    public func next(timeout: Duration) async -> Message? {
        (try? await blocking { self.receive(timeout: timeout) }) ?? nil
    }

    /// Reads datagrams until one satisfies `predicate`; returns it and everything before it.
    public func receive(
        until predicate: (Message) -> Bool, timeout: Duration = .seconds(15)
    ) -> (match: Message?, seen: [Message]) {
        let deadline = ContinuousClock.now + timeout
        var seen: [Message] = []
        while ContinuousClock.now < deadline {
            guard let message = receive(timeout: deadline - .now) else { break }
            seen.append(message)
            if predicate(message) { return (message, seen) }
        }
        return (nil, seen)
    }
}
