import FinetunedControl
import FinetunedTestSupport
import Foundation
import Testing

/// The real `finetuned` executable against a `NOTIFY_SOCKET` the test binds, as systemd
/// would run it.
@Suite("Daemon lifecycle under a service manager")
struct DaemonLifecycleTests {
    @Test("READY=1 comes with a STATUS= line, and only once the control socket answers")
    func readiness() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        let ready = try #require(await daemon.waitForReady(), "no READY=1; log:\n\(daemon.log)")
        #expect(ready.assignments["STATUS"] == "0 workflows running, 0 waiting; last: none")
        // Readiness means the socket answers right away, without retrying.
        let status = try await daemon.ctl(["status", "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let decoded = try JSONDecoder.control.decode(DaemonStatus.self, from: Data(status.stdout.utf8))
        #expect(decoded.pid == daemon.pid)
        #expect(decoded.configurationFile == daemon.configPath)
        #expect(decoded.profiles == ["rehearsal"])
    }

    @Test("the service group logs its services by name, never as a dump of their fields")
    func serviceNames() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "stderr", "--log-level", "debug"], environment: ["WATCHDOG_USEC": "10000000"])
        #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
        let line = try #require(
            daemon.log.split(separator: "\n").first { $0.contains("Starting service lifecycle") },
            "no service group line; log:\n\(daemon.log)")
        let names = ["control-socket", "reload", "inbox", "engine", "outbox", "watchdog", "shutdown-announcer"]
        #expect(line.contains("sl-services=\"[" + names.map { "\\\"\($0)\\\"" }.joined(separator: ", ") + "]\""), "\(line)")
        // The default description of a struct lists every field: the socket path, handlers, loggers.
        #expect(!daemon.log.contains("ControlServer("))
        #expect(!daemon.log.contains("socketPath:"))
    }

    @Test("WATCHDOG=1 arrives at about half of WATCHDOG_USEC, and not at all without it")
    func watchdogCadence() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start(environment: ["WATCHDOG_USEC": "400000"])
        #expect(await daemon.waitForReady() != nil)
        // The listener drains the socket on its own thread, as systemd does, so arrival times
        // are the send times give or take scheduling.
        try await Task.sleep(for: .seconds(2))
        var arrivals: [ContinuousClock.Instant] = []
        while let message = await daemon.notify.next(timeout: .milliseconds(50)) {
            if message.assignments["WATCHDOG"] == "1" { arrivals.append(message.arrival) }
        }
        #expect(arrivals.count >= 6, "only \(arrivals.count) watchdog pings")
        let intervals = zip(arrivals.dropFirst(), arrivals).map { $0 - $1 }.sorted()
        let median = try #require(intervals.isEmpty ? nil : intervals[intervals.count / 2])
        #expect(median > .milliseconds(150) && median < .milliseconds(260), "median ping interval \(median) at WATCHDOG_USEC=400000")

        let quiet = try DaemonHarness()
        defer { quiet.tearDown() }
        try quiet.start()
        #expect(await quiet.waitForReady() != nil)
        let seen = await quiet.notify.next(where: { $0.assignments["WATCHDOG"] != nil }, timeout: .seconds(1))
        #expect(seen == nil, "watchdog pinged although no WATCHDOG_USEC was set")
    }

    @Test("SIGHUP sends RELOADING=1 with MONOTONIC_USEC, then READY=1, and applies the new file")
    func reloadOnSighup() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try daemon.directory.write("finetuned.toml", DaemonHarness.configuration(in: daemon.directory, profiles: ["rehearsal", "second"]))
        let before = Self.monotonicMicroseconds()
        daemon.signal(SIGHUP)
        let reloading = await daemon.notify.next(where: { $0.assignments["RELOADING"] == "1" })
        let message = try #require(reloading, "no RELOADING=1; log:\n\(daemon.log)")
        let stamp = try #require(message.assignments["MONOTONIC_USEC"].flatMap(UInt64.init))
        #expect(stamp >= before && stamp <= Self.monotonicMicroseconds(), "MONOTONIC_USEC is not CLOCK_MONOTONIC now")
        #expect(await daemon.waitForReady() != nil, "no READY=1 after the reload")
        let status = try JSONDecoder.control.decode(DaemonStatus.self, from: Data(try await daemon.ctl(["status", "--json"]).stdout.utf8))
        #expect(status.profiles == ["rehearsal", "second"])
        #expect(status.reloads == 1)
    }

    @Test("a broken configuration on reload is refused: the old one stays, the error is logged with file:line")
    func brokenReloadKeepsOld() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start(arguments: ["--log-to", "stderr"])
        #expect(await daemon.waitForReady() != nil)
        let broken = DaemonHarness.configuration(in: daemon.directory, profiles: ["rehearsal", "second"])
            .replacingOccurrences(of: "kind = \"local\"", with: "kind = \"locale\"")
        try daemon.directory.write("finetuned.toml", broken)

        daemon.signal(SIGHUP)
        #expect(await daemon.notify.next(where: { $0.assignments["RELOADING"] == "1" }) != nil)
        #expect(await daemon.waitForReady() != nil, "a refused reload must still end with READY=1")
        #expect(
            await eventually {
                daemon.log.contains(
                    "configuration refused, the previous one stays in force: finetuned.toml:14: backend 'local': unknown kind 'locale'")
            }, "log:\n\(daemon.log)")

        let reload = try await daemon.ctl(["reload"])
        #expect(reload.status == 1)
        #expect(reload.stderr.contains("finetuned.toml:14: backend 'local': unknown kind 'locale' (known: bedrock, local, scripted)"))

        let status = try JSONDecoder.control.decode(DaemonStatus.self, from: Data(try await daemon.ctl(["status", "--json"]).stdout.utf8))
        #expect(status.profiles == ["rehearsal"], "the old configuration must stay in force")
        #expect(status.failedReloads == 2)
        #expect(status.lastReloadError?.contains("finetuned.toml:14:") == true)
        #expect(daemon.isRunning)

        // Fixed again: `finetunectl reload` (ExecReload=) applies it and says so.
        try daemon.directory.write("finetuned.toml", broken.replacingOccurrences(of: "locale", with: "local"))
        let fixed = try await daemon.ctl(["reload"])
        #expect(fixed.status == 0, "\(fixed.stderr)")
        #expect(fixed.stdout.contains("configuration reloaded (2 profiles: rehearsal, second)"))
    }

    @Test("SIGTERM sends STOPPING=1, removes the socket and exits 0 promptly")
    func gracefulStop() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        #expect(FileManager.default.fileExists(atPath: daemon.socketPath))
        daemon.signal(SIGTERM)
        let stopping = await daemon.notify.next(where: { $0.assignments["STOPPING"] == "1" })
        #expect(stopping != nil, "no STOPPING=1")
        #expect(await daemon.waitForExit(timeout: .seconds(10)) == 0, "log:\n\(daemon.log)")
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
    }

    @Test("an invalid configuration at start: the daemon exits 1 with the errors and never says READY")
    func invalidAtStart() async throws {
        let daemon = try DaemonHarness(configuration: { _ in "[daemon]\nlog_level = \"chatty\"\n" })
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForExit() == 1)
        #expect(daemon.log.contains("finetuned.toml:2: [daemon]: unknown log_level 'chatty'"))
        let message = await daemon.notify.next(timeout: .milliseconds(100))
        #expect(message == nil)
    }

    @Test("--check-config exits 0 for a valid file and 1 with every error for a broken one")
    func checkConfig() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try BuiltProducts.installAdapters(["local", "cohere"], into: dir.file("adapters"))
        let good = try dir.write("good.toml", DaemonHarness.configuration(in: dir))
        let ok = try Command.run(BuiltProducts.executable("finetuned"), ["--config", good, "--check-config"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasSuffix("good.toml: OK (1 profiles, 2 backends, adapters: cohere, local)\n"))
        let bad = try dir.write("bad.toml", "[limits]\nmax_live_throughputs = -1\n[paths]\nstate = \"rel\"\n")
        let refused = try Command.run(BuiltProducts.executable("finetuned"), ["--config", bad, "--check-config"])
        #expect(refused.status == 1)
        #expect(
            refused.stderr == """
                bad.toml:2: [limits]: 'max_live_throughputs' = -1 is out of range 0...1000
                bad.toml:4: [paths]: 'state' must be an absolute path, not 'rel'

                """)
    }

    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
    }
}
