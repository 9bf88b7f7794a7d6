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
        // procfs reports size 0: read to the end, not by the reported size.
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/\(daemon.pid)/maps"))
        let maps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        #expect(maps.contains("libsqlite3"), "the maps were read")
        #expect(!maps.contains("openblas") && !maps.contains("libgfortran"))
    }
}
