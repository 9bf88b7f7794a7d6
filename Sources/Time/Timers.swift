import Synchronization

/// Timers that are gone once called off, for every wait the daemon may cut short.
///
/// `Task.sleep` is not one: a sleep ended early by cancellation leaves its timer armed until
/// the time it was set for (the runtime wakes a job of its own then, and keeps the task's
/// memory until it has). A daemon that timed every model call at 120 s therefore woke 120
/// times two minutes after its last workflow had finished. `Timers` run on `TimerThread`,
/// where a cancelled timer is simply gone.
public protocol TimerScheduler: Sendable {
    /// Calls `fire` once `delay` has passed, unless the timer is cancelled first.
    func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> ScheduledTimer
}

/// A timer that can be called off; cancelling twice, or after it fired, does nothing.
public struct ScheduledTimer: Sendable {
    private let onCancel: @Sendable () -> Void

    public init(cancel: @escaping @Sendable () -> Void) {
        onCancel = cancel
    }

    public func cancel() { onCancel() }
}

/// The process's timers.
public enum Timers {
    public static let scheduler: any TimerScheduler = TimerThread()

    /// Calls `fire` after `delay` unless cancelled first.
    public static func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> ScheduledTimer {
        scheduler.schedule(after: delay, fire)
    }

    /// Suspends for `duration`; a cancelled task wakes at once with `CancellationError` and
    /// its timer is gone.
    public static func sleep(for duration: Duration) async throws {
        try await sleep(for: duration, on: scheduler)
    }

    /// `sleep(for:)` on a given scheduler (tests count its timers).
    public static func sleep(for duration: Duration, on scheduler: any TimerScheduler) async throws {
        let waiter = Waiter()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                waiter.start(continuation, scheduler: scheduler, after: duration)
            }
        } onCancel: {
            waiter.cancel()
        }
    }

    /// Runs `body`, and cancels it once `duration` has passed, throwing `TimedOut`. Ended
    /// before that, it leaves no timer behind.
    public static func withTimeout<T: Sendable>(
        _ duration: Duration, on scheduler: any TimerScheduler = Timers.scheduler,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await sleep(for: duration, on: scheduler)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw TimedOut(after: duration) }
            return value
        }
    }
}

/// `Timers.withTimeout` gave up.
public struct TimedOut: Error, Equatable, CustomStringConvertible {
    public let after: Duration

    public init(after: Duration) { self.after = after }

    public var description: String { "no answer within \(after.components.seconds) s" }
}

/// One sleep: resumed exactly once, by its timer or by cancellation, whichever comes first;
/// a cancellation that arrives before the sleep started ends it as soon as it starts.
private final class Waiter: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, any Error>, ScheduledTimer?)
        /// Resumed, or cancelled before it started.
        case over
    }

    private let state = Mutex(State.idle)

    func start(_ continuation: CheckedContinuation<Void, any Error>, scheduler: any TimerScheduler, after duration: Duration) {
        let proceed = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .waiting(continuation, nil)
            return true
        }
        guard proceed else { return continuation.resume(throwing: CancellationError()) }
        let timer = scheduler.schedule(after: duration) { [self] in finish(with: nil) }
        let keep = state.withLock { state -> Bool in
            guard case .waiting(let continuation, nil) = state else { return false }
            state = .waiting(continuation, timer)
            return true
        }
        // Cancelled (or, for a zero delay, fired) while the timer was being set: it is either
        // spent or no longer wanted.
        if !keep { timer.cancel() }
    }

    func cancel() { finish(with: CancellationError()) }

    private func finish(with error: (any Error)?) {
        let ended = state.withLock { state -> (CheckedContinuation<Void, any Error>, ScheduledTimer?)? in
            defer { state = .over }
            guard case .waiting(let continuation, let timer) = state else { return nil }
            return (continuation, timer)
        }
        guard let (continuation, timer) = ended else { return }
        if error != nil { timer?.cancel() }
        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
    }
}
