import Foundation

/// A thread of its own that runs blocking work (SQLite, the encoder, training) one piece at
/// a time for async callers, so that work never holds up the event loops tasks run on.
///
/// Not libdispatch: its worker pool, once started, arms a monitor that wakes the process
/// every second for as long as it lives, and an idle daemon must have no timer firing. This
/// thread starts with the first piece of work, sleeps on a condition variable between
/// pieces, and ends when its owner lets the worker go.
public final class SerialWorker: Sendable {
    private let queue: WorkQueue

    /// - Parameter name: the thread's name (`top -H`, `/proc/PID/task/*/comm`).
    public init(name: String) {
        queue = WorkQueue(name: name)
    }

    deinit {
        queue.close()
    }

    /// Runs `body` on the worker's thread after the work submitted before it.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.submit { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// The worker's pending work and its thread. The thread holds this, not the worker, so the
/// worker's owner letting go is what ends it.
private final class WorkQueue: @unchecked Sendable {
    private let name: String
    private let condition = NSCondition()
    private var pending: [() -> Void] = []
    private var started = false
    private var closed = false

    init(name: String) {
        self.name = name
    }

    func submit(_ work: @escaping () -> Void) {
        condition.lock()
        pending.append(work)
        if !started {
            started = true
            Thread { [self] in
                // Named from inside: a new thread starts with its creator's name on Linux.
                Thread.current.name = name
                drain()
            }.start()
        }
        condition.signal()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }

    private func drain() {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            if pending.isEmpty {
                condition.unlock()
                return
            }
            let work = pending.removeFirst()
            condition.unlock()
            work()
        }
    }
}
