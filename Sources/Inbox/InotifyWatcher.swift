import Foundation

/// Linux inotify, read on a thread of its own and delivered as an `AsyncStream`.
///
/// The reader blocks in `poll` on the inotify descriptor and a wake-up pipe, so stopping it
/// is immediate and nothing spins. Watches are added and removed by the owner directly.
public final class InotifyWatcher: @unchecked Sendable {
    public struct Event: Sendable, Equatable {
        public var watch: Int32
        public var mask: UInt32
        public var name: String

        public var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
        public var isDirectory: Bool { mask & UInt32(IN_ISDIR) != 0 }
    }

    public let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let fd: Int32
    private let wake: (read: Int32, write: Int32)
    private var thread: Thread?

    /// - Parameter readDelay: a pause after each read; only tests set it, to overflow the queue.
    public init(readDelay: Duration = .zero) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var pipeFDs: [Int32] = [0, 0]
        // pipe2 is hidden behind _GNU_SOURCE in the Glibc module; set the flags afterwards.
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        for end in pipeFDs {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        wake = (pipeFDs[0], pipeFDs[1])
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        let delay = UInt32(readDelay.components.seconds * 1_000_000 + readDelay.components.attoseconds / 1_000_000_000_000)
        let thread = Thread { [fd, wake, continuation] in
            Self.readLoop(fd: fd, wake: wake.read, delayMicroseconds: delay, continuation: continuation)
        }
        thread.name = "inotify"
        self.thread = thread
        thread.start()
    }

    deinit {
        stop()
        close(fd)
        close(wake.read)
        close(wake.write)
    }

    /// Watches `directory` for `mask`; returns the watch descriptor.
    public func add(directory: String, mask: UInt32) throws -> Int32 {
        let wd = inotify_add_watch(fd, directory, mask | UInt32(IN_ONLYDIR) | UInt32(IN_DONT_FOLLOW))
        guard wd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return wd
    }

    public func remove(watch: Int32) {
        inotify_rm_watch(fd, watch)
    }

    /// Stops the reader and finishes the stream; idempotent.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    private static func readLoop(fd: Int32, wake: Int32, delayMicroseconds: UInt32, continuation: AsyncStream<Event>.Continuation) {
        // Each event is a 16-byte header plus a NUL-padded name of up to NAME_MAX bytes.
        let capacity = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        defer {
            buffer.deallocate()
            continuation.finish()
        }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            let n = read(fd, buffer, capacity)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            var offset = 0
            while offset + 16 <= n {
                let wd = buffer.load(fromByteOffset: offset, as: Int32.self)
                let mask = buffer.load(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(buffer.load(fromByteOffset: offset + 12, as: UInt32.self))
                let nameStart = (buffer + offset + 16).assumingMemoryBound(to: CChar.self)
                let name = length > 0 ? String(cString: nameStart) : ""
                continuation.yield(Event(watch: wd, mask: mask, name: name))
                offset += 16 + length
            }
            if delayMicroseconds > 0 { usleep(delayMicroseconds) }
        }
    }
}
