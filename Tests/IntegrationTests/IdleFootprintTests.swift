import FinetunedTestSupport
import Foundation
import Testing

/// What an idle daemon holds: OpenBLAS (and libgfortran, and OpenBLAS's threads) only while an
/// evaluation or a local job needs the encoder, OpenSSL only once something goes over TLS
/// (hashing is our own), and no libsystemd at all.
@Suite("idle footprint")
struct IdleFootprintTests {
    @Test("an idle daemon has not loaded OpenBLAS, OpenSSL or libsystemd, nor has one that hashed a drop and started its workflow")
    func librariesOpenedOnUse() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        let idle = daemon.mappedFiles()
        #expect(idle.contains { $0.contains("libsqlite3") }, "the maps were read: \(idle)")
        #expect(!idle.contains { $0.contains("openblas") || $0.contains("libgfortran") })
        #expect(!idle.contains { $0.contains("libcrypto") || $0.contains("libssl") || $0.contains("libsystemd") })

        try daemon.drop(TrainingRecords.summaries(20), as: "hashed.jsonl", profile: "rehearsal")
        let workflows = try await daemon.waitForWorkflows(in: [.training], dropName: "hashed.jsonl")
        #expect(workflows.count == 1, "log:\n\(daemon.log)")
        let working = daemon.mappedFiles()
        #expect(working.contains { $0.contains("libsqlite3") }, "the maps were read: \(working)")
        #expect(!working.contains { $0.contains("libcrypto") || $0.contains("libssl") })
        let receipt = try #require(workflows.first?.sha256)
        #expect(receipt.count == 64, "the drop was hashed: \(receipt)")
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
