import FinetunedTestSupport
import Foundation
import Testing

/// What an idle daemon holds: OpenBLAS (and libgfortran, and OpenBLAS's thread) only once an
/// evaluation or a local job needs the encoder.
@Suite("idle footprint")
struct IdleFootprintTests {
    @Test("an idle daemon has not loaded OpenBLAS")
    func noBLASWhenIdle() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        let files = daemon.mappedFiles()
        #expect(files.contains { $0.contains("libsqlite3") }, "the maps were read: \(files)")
        #expect(!files.contains { $0.contains("openblas") || $0.contains("libgfortran") })
    }

    @Test("an idle daemon sleeps: none of its threads wakes")
    func noWakeupsWhenIdle() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try await Task.sleep(for: .seconds(1))
        let wakeups = await daemon.wakeups(over: .seconds(3))
        #expect(wakeups.isEmpty, "threads that woke while the daemon was idle: \(wakeups)")
    }
}
