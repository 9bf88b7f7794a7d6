import Foundation

/// Runs blocking work (a socket read, a `poll`, a child process wait) on its own thread.
///
/// Swift's cooperative pool has one thread per core, two here: a test that blocks one of them
/// while the code under test needs it to answer deadlocks the run.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
