import FinetunedTestSupport
import Foundation
import Testing

/// The shipped systemd files, checked by systemd's own tools (no service manager needed).
@Suite("systemd unit, sysusers.d and tmpfiles.d files")
struct UnitFileTests {
    /// The unit as `make install` renders it, pointing at the freshly built binaries.
    func renderedUnit(in dir: TemporaryDirectory, transform: (String) -> String = { $0 }) throws -> String {
        let source = BuiltProducts.packageRoot.appendingPathComponent("systemd/finetuned.service").path
        let text = try String(contentsOfFile: source, encoding: .utf8)
            .replacingOccurrences(of: "@BINDIR@", with: BuiltProducts.directory.path)
        return try dir.write("finetuned.service", transform(text))
    }

    func verify(_ unit: String) throws -> CommandResult {
        try Command.run("/usr/bin/systemd-analyze", ["verify", unit])
    }

    @Test("systemd-analyze verify accepts the unit without a single warning")
    func verifyClean() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try verify(try renderedUnit(in: dir))
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty, "systemd-analyze verify printed:\n\(result.stderr)")
        #expect(result.stdout.isEmpty, "systemd-analyze verify printed:\n\(result.stdout)")
    }

    @Test("the verify check notices a typo that systemd-analyze only warns about")
    func verifyCatchesTypos() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try verify(try renderedUnit(in: dir) { $0.replacingOccurrences(of: "Type=notify", with: "Type=notfy") })
        #expect(!result.stderr.isEmpty, "a misspelt Type= must produce output for the clean check to mean anything")
    }

    @Test("the unit is what the daemon expects: notify, watchdog, restart, reload through finetunectl")
    func unitContract() throws {
        let text = try String(contentsOfFile: BuiltProducts.packageRoot.appendingPathComponent("systemd/finetuned.service").path, encoding: .utf8)
        for line in [
            "Type=notify", "WatchdogSec=30s", "Restart=on-failure", "ExecReload=@BINDIR@/finetunectl reload",
            "User=finetuned", "StateDirectory=finetuned", "RuntimeDirectory=finetuned", "ProtectSystem=strict",
            "SystemCallFilter=@system-service", "MemoryMax=2G", "TasksMax=512",
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "missing \(line)")
        }
        // The stop timeout must leave room for the daemon's own graceful shutdown (20 s default).
        #expect(text.contains("TimeoutStopSec=30s"))
    }

    @Test("systemd-analyze security rates the unit's exposure at 2.0 or lower")
    func securityExposure() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let unit = try renderedUnit(in: dir)
        let result = try Command.run("/usr/bin/systemd-analyze", ["security", "--offline=yes", "--no-pager", unit])
        let line = try #require(
            result.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") },
            "no exposure line in:\n\(result.stdout)\n\(result.stderr)")
        let value = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(value <= 2.0, "\(line)")
    }

    @Test("sysusers.d creates the daemon user and the submit group; tmpfiles.d creates a setgid inbox for that group")
    func usersAndDirectories() throws {
        let root = try TemporaryDirectory(prefix: "root")
        defer { root.remove() }
        for (folder, name) in [("sysusers.d", "finetuned.conf"), ("tmpfiles.d", "finetuned.conf")] {
            let text = try String(contentsOfFile: BuiltProducts.packageRoot.appendingPathComponent("systemd/\(folder)/\(name)").path, encoding: .utf8)
            try root.write("usr/lib/\(folder)/\(name)", text)
        }
        try FileManager.default.createDirectory(atPath: root.file("etc"), withIntermediateDirectories: true)
        let sysusers = try Command.run("/usr/bin/systemd-sysusers", ["--root=\(root.path)"])
        #expect(sysusers.status == 0, "\(sysusers.stderr)")
        let passwd = try String(contentsOfFile: root.file("etc/passwd"), encoding: .utf8)
        let group = try String(contentsOfFile: root.file("etc/group"), encoding: .utf8)
        let user = try #require(
            passwd.split(separator: "\n").first { $0.hasPrefix("finetuned:") }?.split(separator: ":", omittingEmptySubsequences: false))
        #expect(user[6] == "/usr/sbin/nologin")
        let submitGID = try #require(group.split(separator: "\n").first { $0.hasPrefix("finetuned-submit:") }?.split(separator: ":")[2]).description

        let tmpfiles = try Command.run("/usr/bin/systemd-tmpfiles", ["--root=\(root.path)", "--create"])
        #expect(tmpfiles.status == 0, "\(tmpfiles.stderr)")
        let inbox = try FileManager.default.attributesOfItem(atPath: root.file("var/lib/finetuned/inbox"))
        #expect((inbox[.posixPermissions] as? Int) == 0o3770, "setgid and sticky")
        #expect((inbox[.groupOwnerAccountID] as? Int).map(String.init) == submitGID)
        #expect((inbox[.ownerAccountID] as? Int).map(String.init) == user[2].description)
        let state = try FileManager.default.attributesOfItem(atPath: root.file("var/lib/finetuned"))
        #expect((state[.posixPermissions] as? Int) == 0o711, "submitters must be able to traverse, not list, the state directory")
    }
}
