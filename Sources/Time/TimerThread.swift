import CProcess
import Glibc

/// The process's timers: one thread that sleeps until the earliest armed deadline, and exists
/// only while some timer is armed.
///
/// Not the event loops' timers: SwiftNIO arms its timerfd for the earliest deadline and never
/// disarms it when that timer is cancelled (by design: one wakeup spared for the common
/// case), so a model call that answered long before its deadline still woke an idle daemon
/// once at that deadline. Here a cancellation wakes the thread at once, while work is going
/// on, to wait for the next deadline, or to end when none is left.
final class TimerThread: TimerScheduler, @unchecked Sendable {
    private struct Entry {
        let deadline: UInt64
        let fire: @Sendable () -> Void
    }

    // Guarded by `mutex`. A dictionary the thread scans for the earliest deadline: at most a
    // poll or backoff per workflow and a deadline per model call in flight are armed, and
    // cancelling, the common end of a deadline, must be cheap.
    private var armed: [UInt64: Entry] = [:]
    private var nextID: UInt64 = 0
    private var running = false

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let name: String

    init(name: String = "finetuned-timer") {
        self.name = name
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Deadlines are monotonic: setting the wall clock must not move them.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// How many timers are armed now (tests).
    var armedCount: Int { locked { armed.count } }

    func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> ScheduledTimer {
        let deadline = Self.now() &+ Self.nanoseconds(delay)
        let id: UInt64 = locked {
            let id = nextID
            nextID += 1
            armed[id] = Entry(deadline: deadline, fire: fire)
            if running {
                pthread_cond_signal(condition)
            } else {
                running = true
                startThread()
            }
            return id
        }
        return ScheduledTimer { [self] in
            locked {
                if armed.removeValue(forKey: id) != nil { pthread_cond_signal(condition) }
            }
        }
    }

    /// The thread's loop: fire what is due, sleep until the next deadline (or a change), end
    /// when nothing is armed.
    private func serve() {
        pthread_mutex_lock(mutex)
        while let (id, next) = armed.min(by: { $0.value.deadline < $1.value.deadline }) {
            if next.deadline <= Self.now() {
                armed.removeValue(forKey: id)
                pthread_mutex_unlock(mutex)
                next.fire()
                pthread_mutex_lock(mutex)
                continue
            }
            var until = timespec(tv_sec: Int(next.deadline / 1_000_000_000), tv_nsec: Int(next.deadline % 1_000_000_000))
            pthread_cond_timedwait(condition, mutex, &until)
        }
        running = false
        pthread_mutex_unlock(mutex)
    }

    private func startThread() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { context in
                let timers = Unmanaged<TimerThread>.fromOpaque(context!).takeRetainedValue()
                ft_set_process_name(timers.name)  // this thread's name
                timers.serve()
                return nil
            }, context)
        guard started == 0 else {
            // No thread: nothing would ever fire, so fail loudly rather than hang a wait.
            fatalError("cannot start the timer thread: \(String(cString: strerror(started)))")
        }
        pthread_detach(thread)
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    private static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    /// `duration` in nanoseconds: negative ones are now, ones past UInt64 a century.
    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        guard seconds < 3_000_000_000 else { return 3_000_000_000 * 1_000_000_000 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
