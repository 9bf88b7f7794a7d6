@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency
import NIOCore
import NIOPosix

/// Swift Concurrency's default executor for the daemon: jobs run on SwiftNIO's event loops
/// (the threads its sockets use, sleeping in `epoll_wait`), and timed jobs (`Task.sleep`) are
/// NIO timers, armed only while something waits for its time.
///
/// The platform's default is libdispatch's worker pool, and a pool once started arms a
/// monitor that wakes the process every second for as long as it lives: 86,400 wakeups a day
/// for a daemon that mostly waits for drops. Swift 6.3 chooses the default
/// executor through `ExecutorFactory` (still SPI, hence the `@_spi` import); the main actor
/// stays on the platform's main executor, which starts no pool.
struct EventLoopExecutorFactory: ExecutorFactory {
    static var mainExecutor: any MainExecutor { PlatformExecutorFactory.mainExecutor }
    static var defaultExecutor: any TaskExecutor { EventLoopTaskExecutor.shared }
}

final class EventLoopTaskExecutor: TaskExecutor, SchedulingExecutor {
    static let shared = EventLoopTaskExecutor(group: .singleton)

    private let group: MultiThreadedEventLoopGroup

    init(group: MultiThreadedEventLoopGroup) {
        self.group = group
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // `any()` keeps a job on the loop it was enqueued from, when it was one of ours.
        group.any().execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        enqueue(job, after: clock.now.duration(to: instant), tolerance: tolerance, clock: clock)
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C) {
        guard let delay = delay as? Duration else {
            // A clock whose durations are not `Duration` has no NIO counterpart; the platform
            // executor knows how to wait on it.
            guard let platform = PlatformExecutorFactory.defaultExecutor as? any SchedulingExecutor else { return enqueue(job) }
            return platform.enqueue(job, after: delay, tolerance: tolerance, clock: clock)
        }
        let job = UnownedJob(job)
        let (seconds, attoseconds) = delay.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let wait: TimeAmount = nanoseconds.overflow ? .hours(24 * 365) : .nanoseconds(max(0, nanoseconds.partialValue + attoseconds / 1_000_000_000))
        group.any().scheduleTask(in: wait) { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
