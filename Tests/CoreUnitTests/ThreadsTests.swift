import FinetunedTestSupport
import FinetunedThreads
import Foundation
import Synchronization
import Testing

/// The kernel's id of the calling thread (`/proc/thread-self` is `PID/task/TID`).
private func threadID() -> pid_t {
    pid_t((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"))?.split(separator: "/").last.flatMap { Int32($0) } ?? -1)
}

/// The daemon's own threads for blocking work (instead of libdispatch's pool, whose monitor
/// would wake an idle daemon every second).
@Suite("threads for blocking work")
struct ThreadsTests {
    @Test("a serial worker runs work in order on one thread of its own, passes errors back, and its thread ends with it")
    func serialWorker() async throws {
        var worker: SerialWorker? = SerialWorker(name: "test-worker")
        let order = Mutex<[Int]>([])
        let threads = Mutex<Set<pid_t>>([])
        for index in 0..<20 {
            let w = try #require(worker)
            try await w.run {
                order.withLock { $0.append(index) }
                threads.withLock { _ = $0.insert(threadID()) }
            }
        }
        #expect(order.withLock { $0 } == Array(0..<20))
        let tids = threads.withLock { $0 }
        #expect(tids.count == 1 && !tids.contains(threadID()), "\(tids)")

        struct Refused: Error, Equatable {}
        await #expect(throws: Refused.self) { try await worker!.run { throw Refused() } }
        #expect(try await worker!.run { 6 * 7 } == 42, "still working after an error")

        let tid = try #require(tids.first)
        #expect(FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)"))
        worker = nil
        #expect(await eventually { !FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)") }, "the thread outlived its worker")
    }

    @Test("a parallel loop calls every index once, on several threads, and returns when all have returned")
    func parallelLoop() {
        let calls = Mutex<[Int: Int]>([:])
        let threads = Mutex<Set<pid_t>>([])
        ParallelLoop.run(64, width: 4) { index in
            threads.withLock { _ = $0.insert(threadID()) }
            usleep(2_000)
            calls.withLock { $0[index, default: 0] += 1 }
        }
        #expect(calls.withLock { $0 } == Dictionary(uniqueKeysWithValues: (0..<64).map { ($0, 1) }))
        #expect(threads.withLock { $0.count } > 1)

        let single = Mutex<Set<pid_t>>([])
        ParallelLoop.run(5, width: 1) { _ in single.withLock { _ = $0.insert(threadID()) } }
        #expect(single.withLock { $0 } == [threadID()], "width 1 runs on the calling thread")
    }
}
