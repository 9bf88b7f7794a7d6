import FinetunedTestSupport
import Foundation
import Synchronization
import Testing

@testable import FinetunedTime

/// `Timers`: waits that leave no timer armed once they are over, however they ended.
/// A wait that misses its wake-up would hang, not fail: the time limit turns that into a failure.
@Suite("Timers", .timeLimit(.minutes(1)))
struct TimersTests {
    /// Timers that fire only when the test says so, counting what is still armed.
    final class ManualScheduler: TimerScheduler {
        private struct Entry {
            let delay: Duration
            let fire: @Sendable () -> Void
        }
        private let entries = Mutex<[Int: Entry]>([:])
        private let next = Atomic<Int>(0)
        let cancellations = Atomic<Int>(0)

        func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> ScheduledTimer {
            let id = next.add(1, ordering: .relaxed).newValue
            entries.withLock { $0[id] = Entry(delay: delay, fire: fire) }
            return ScheduledTimer { [self] in
                if entries.withLock({ $0.removeValue(forKey: id) }) != nil { cancellations.add(1, ordering: .relaxed) }
            }
        }

        var armed: [Duration] { entries.withLock { $0.values.map(\.delay) } }

        /// Fires every armed timer (outside the lock, as an event loop would).
        func fireAll() {
            let due = entries.withLock { entries in
                defer { entries.removeAll() }
                return Array(entries.values)
            }
            for entry in due { entry.fire() }
        }

        /// Fires the armed timers set for `delay`, leaving the others armed.
        func fireOnly(_ delay: Duration) {
            let due = entries.withLock { entries in
                let matching = entries.filter { $0.value.delay == delay }
                for key in matching.keys { entries.removeValue(forKey: key) }
                return Array(matching.values)
            }
            for entry in due { entry.fire() }
        }

        func waitUntilArmed(_ count: Int) async {
            while armed.count < count { await Task.yield() }
        }
    }

    @Test("a sleep ends when its timer fires, and nothing stays armed")
    func sleepFires() async throws {
        let timers = ManualScheduler()
        let sleeper = Task { try await Timers.sleep(for: .seconds(30), on: timers) }
        await timers.waitUntilArmed(1)
        #expect(timers.armed == [.seconds(30)])
        timers.fireAll()
        try await sleeper.value
        #expect(timers.armed.isEmpty)
        #expect(timers.cancellations.load(ordering: .relaxed) == 0)
    }

    @Test("a cancelled sleep wakes at once with CancellationError and calls its timer off")
    func sleepCancelled() async throws {
        let timers = ManualScheduler()
        let sleeper = Task { try await Timers.sleep(for: .seconds(3600), on: timers) }
        await timers.waitUntilArmed(1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(timers.armed.isEmpty, "the timer of a cancelled sleep is still armed")
        #expect(timers.cancellations.load(ordering: .relaxed) == 1)
        // Firing late (a timer already on its way when it was called off) changes nothing.
        timers.fireAll()
    }

    @Test("a task cancelled before it sleeps does not sleep, and arms nothing")
    func cancelledBeforeSleeping() async throws {
        let timers = ManualScheduler()
        let sleeper = Task {
            while !Task.isCancelled { await Task.yield() }
            try await Timers.sleep(for: .seconds(3600), on: timers)
        }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(timers.armed.isEmpty)
    }

    @Test("withTimeout: a body that finishes first returns its value and leaves no timer")
    func timeoutNotReached() async throws {
        let timers = ManualScheduler()
        for round in 1...50 {
            let value = try await Timers.withTimeout(.seconds(120), on: timers) { round * 2 }
            #expect(value == round * 2)
        }
        #expect(timers.armed.isEmpty, "\(timers.armed.count) timers still armed after 50 calls that answered")
    }

    @Test("withTimeout: at the deadline the body is cancelled and TimedOut thrown")
    func timeoutReached() async throws {
        let timers = ManualScheduler()
        let sawCancellation = Mutex(false)
        let call = Task {
            try await Timers.withTimeout(.seconds(5), on: timers) {
                do {
                    try await Timers.sleep(for: .seconds(3600), on: timers)
                } catch is CancellationError {
                    sawCancellation.withLock { $0 = true }
                    throw CancellationError()
                }
                return "answered"
            }
        }
        await timers.waitUntilArmed(2)
        // Fire only the deadline: the body's own long wait must end by cancellation.
        #expect(timers.armed.contains(.seconds(5)))
        timers.fireOnly(.seconds(5))
        await #expect(throws: TimedOut(after: .seconds(5))) { try await call.value }
        #expect(sawCancellation.withLock { $0 })
        #expect(timers.armed.isEmpty)
    }

    @Test("the timer thread: fires on time and in deadline order, and forgets what is called off")
    func timerThread() async throws {
        let timers = TimerThread(name: "ft-timer-order")
        let clock = ContinuousClock()
        let start = clock.now
        try await Timers.sleep(for: .milliseconds(30), on: timers)
        #expect(clock.now - start >= .milliseconds(30))
        await #expect(throws: TimedOut(after: .milliseconds(30))) {
            try await Timers.withTimeout(.milliseconds(30), on: timers) { try await Timers.sleep(for: .seconds(3600), on: timers) }
        }
        // Many calls that answer first: none of their deadlines stays armed.
        for round in 1...200 {
            #expect(try await Timers.withTimeout(.seconds(120), on: timers) { round } == round)
        }
        #expect(timers.armedCount == 0)
        // Timers fire in deadline order, whatever order they were set in.
        let order = await withTaskGroup(of: Int.self) { group in
            for (index, milliseconds) in [60, 20, 40].enumerated() {
                group.addTask {
                    try? await Timers.sleep(for: .milliseconds(milliseconds), on: timers)
                    return index
                }
            }
            var order: [Int] = []
            for await index in group { order.append(index) }
            return order
        }
        #expect(order == [1, 2, 0])
    }

    @Test("the timer thread exists only while a timer is armed")
    func timerThreadLifetime() async throws {
        let timers = TimerThread(name: "ft-timer-test")
        #expect(!Self.threadNames().contains("ft-timer-test"))
        let sleeper = Task { try await Timers.sleep(for: .seconds(3600), on: timers) }
        while timers.armedCount == 0 { await Task.yield() }
        #expect(await eventually { Self.threadNames().contains("ft-timer-test") })
        sleeper.cancel()
        _ = try? await sleeper.value
        #expect(timers.armedCount == 0)
        #expect(await eventually { !Self.threadNames().contains("ft-timer-test") }, "the timer thread outlived its last timer")
        // And comes back for the next one.
        try await Timers.sleep(for: .milliseconds(5), on: timers)
        #expect(timers.armedCount == 0)
    }

    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}
