import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

/// A state directory that runs out of space, for real: a 3 MiB tmpfs mounted over it.
@Suite("A full state directory", .serialized)
struct StoreFailureTests {
    static var canMount: Bool {
        guard geteuid() == 0, let dir = try? TemporaryDirectory(prefix: "ftm") else { return false }
        defer { dir.remove() }
        guard (try? Command.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir.path]))?.status == 0 else { return false }
        _ = try? Command.run("/usr/bin/umount", [dir.path])
        return true
    }

    @Test(
        "a full disk stops the daemon taking drops and says so; freeing space resumes; the store stays sound",
        .enabled(if: canMount, "mounting a tmpfs needs root (CAP_SYS_ADMIN)"))
    func diskFull() async throws {
        let daemon = try DaemonHarness()
        let state = daemon.directory.file("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let mounted = try Command.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", state])
        try #require(mounted.status == 0, "\(mounted.stderr)")
        defer {
            daemon.signal(SIGKILL)
            _ = try? Command.run("/usr/bin/umount", ["-l", state])
            daemon.tearDown()
        }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil, "\(daemon.log)")
        // The drop is written first; then the filesystem is filled; then the drop arrives.
        let staged = state + "/staged.jsonl"
        try TrainingRecords.summaries(22).write(toFile: staged, atomically: false, encoding: .utf8)
        let filler = state + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        let chunk = Data(count: 64 * 1024)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        try? handle.close()
        let target = daemon.inbox + "/rehearsal/full.jsonl"
        #expect(rename(staged, target) == 0)

        let refused = await daemon.notify.next(where: {
            $0.assignments["STATUS"]?.hasPrefix("NOT TAKING DROPS: the workflow store cannot be written") == true
        })
        #expect(refused != nil, "STATUS= does not say the store is unwritable:\n\(daemon.log)")
        #expect(daemon.log.contains("database or disk is full"))
        #expect(FileManager.default.fileExists(atPath: target), "the drop stays in the inbox")
        #expect(daemon.isRunning)

        try FileManager.default.removeItem(atPath: filler)
        let accepted = try await daemon.waitForWorkflows(dropName: "full.jsonl")
        #expect(accepted.first?.stage.passedValidation == true, "\(daemon.log)")
        #expect(daemon.log.contains("the workflow store accepts writes again"))
        let back = await daemon.notify.next(where: { $0.assignments["STATUS"]?.hasPrefix("NOT TAKING DROPS") == false })
        #expect(back != nil)
        daemon.signal(SIGTERM)
        _ = await daemon.waitForExit()
        #expect(try await SQLiteWorkflowStore(path: daemon.databasePath).integrityCheck() == "ok")
    }

    @Test(
        "a read-only state directory: the daemon starts, says it takes no drops, and leaves the waiting drop alone",
        .enabled(if: canMount, "mounting a tmpfs needs root (CAP_SYS_ADMIN)"))
    func readOnly() async throws {
        let daemon = try DaemonHarness()
        let state = daemon.directory.file("state")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try #require(try Command.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", state]).status == 0)
        defer {
            daemon.signal(SIGKILL)
            _ = try? Command.run("/usr/bin/umount", ["-l", state])
            daemon.tearDown()
        }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        daemon.signal(SIGTERM)
        _ = await daemon.waitForExit()
        let waiting = daemon.inbox + "/rehearsal/waiting.jsonl"
        try TrainingRecords.summaries(22).write(toFile: waiting, atomically: false, encoding: .utf8)
        try #require(try Command.run("/usr/bin/mount", ["-o", "remount,ro", state]).status == 0)

        try daemon.start()
        let ready = await daemon.waitForReady()
        #expect(ready?.assignments["STATUS"]?.hasPrefix("NOT TAKING DROPS: the workflow store cannot be written") == true, "\(daemon.log)")
        #expect(daemon.log.contains("readonly database"))
        #expect(FileManager.default.fileExists(atPath: waiting))
        let status = try await daemon.ctl(["status"])
        #expect(status.status == 0 && status.stdout.contains("NOT TAKING DROPS"), "finetunectl still answers: \(status.stderr)")
    }
}
