import Foundation
import Synchronization

/// `body(0) … body(count - 1)` spread over threads started for the call, the calling thread
/// being one of them; returns when every call has returned.
///
/// What `DispatchQueue.concurrentPerform` does, without starting libdispatch's worker pool
/// (see `SerialWorker`). The encoder calls it once per batch of passes, where a thread's
/// start is microseconds against the passes' seconds.
public enum ParallelLoop {
    public static func run(
        _ count: Int, width: Int = ProcessInfo.processInfo.activeProcessorCount,
        _ body: @escaping @Sendable (Int) -> Void
    ) {
        let threads = min(width, count)
        guard threads > 1 else {
            for index in 0..<count { body(index) }
            return
        }
        let progress = Progress(helpers: threads - 1)
        let work: @Sendable () -> Void = {
            while true {
                let index = progress.next.wrappingAdd(1, ordering: .relaxed).oldValue
                if index >= count { return }
                body(index)
            }
        }
        for _ in 1..<threads {
            Thread {
                work()
                progress.helperFinished()
            }.start()
        }
        work()
        progress.waitForHelpers()
    }

    /// The next index to take, and how many helper threads have finished (guarded by
    /// `condition`).
    private final class Progress: @unchecked Sendable {
        let next = Atomic(0)
        private let condition = NSCondition()
        private var finished = 0
        private let helpers: Int

        init(helpers: Int) {
            self.helpers = helpers
        }

        func helperFinished() {
            condition.lock()
            finished += 1
            condition.signal()
            condition.unlock()
        }

        func waitForHelpers() {
            condition.lock()
            while finished < helpers { condition.wait() }
            condition.unlock()
        }
    }
}
