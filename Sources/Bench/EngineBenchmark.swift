import FinetunedConfig
import FinetunedScriptedBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging
import Synchronization

/// The engine's own cost: 1,000 workflows at once against the scripted backend with no
/// delays, so what is measured is scheduling, the machine and the durable commits. The
/// peer is the floor under any durable engine: Python's sqlite3 committing the same number
/// of single-row updates with the same settings (WAL, synchronous=FULL).
enum EngineBenchmark {
    /// Records how long each commit of a step takes.
    final class TimingStore: WorkflowStore {
        let inner: any WorkflowStore
        private let recorded = Mutex<[Duration]>([])
        var samples: [Duration] { recorded.withLock { $0 } }

        init(_ inner: any WorkflowStore) { self.inner = inner }

        func advance(_ step: WorkflowStep) async throws(StoreError) -> WorkflowRecord {
            let start = ContinuousClock.now
            let record = try await inner.advance(step)
            let elapsed = ContinuousClock.now - start
            recorded.withLock { $0.append(elapsed) }
            return record
        }

        func insert(_ w: WorkflowRecord, event: String) async throws(StoreError) { try await inner.insert(w, event: event) }
        func workflow(id: String) async throws(StoreError) -> WorkflowRecord? { try await inner.workflow(id: id) }
        func transition(id: String, from: WorkflowStage, to: WorkflowStage, event: String, failure: String?) async throws(StoreError)
            -> WorkflowRecord
        {
            try await inner.transition(id: id, from: from, to: to, event: event, failure: failure)
        }
        func resources(workflowID: String) async throws(StoreError) -> [ResourceRecord] { try await inner.resources(workflowID: workflowID) }
        func liveResources(kind: ResourceRecord.Kind?) async throws(StoreError) -> [ResourceRecord] { try await inner.liveResources(kind: kind) }
        func markResourceDeleted(kind: ResourceRecord.Kind, identifier: String, at: Date) async throws(StoreError) {
            try await inner.markResourceDeleted(kind: kind, identifier: identifier, at: at)
        }
        func saveAnswer(_ a: InferenceAnswer, lease: WorkflowLease?) async throws(StoreError) { try await inner.saveAnswer(a, lease: lease) }
        func answers(workflowID: String) async throws(StoreError) -> [InferenceAnswer] { try await inner.answers(workflowID: workflowID) }
        func enqueue(_ e: [OutboxEntry]) async throws(StoreError) { try await inner.enqueue(e) }
        func pendingNotifications() async throws(StoreError) -> [OutboxEntry] { try await inner.pendingNotifications() }
        func notifications(workflowID: String) async throws(StoreError) -> [OutboxEntry] { try await inner.notifications(workflowID: workflowID) }
        func updateNotification(_ e: OutboxEntry) async throws(StoreError) { try await inner.updateNotification(e) }
        func abandonClaim(id: String) async throws(StoreError) { try await inner.abandonClaim(id: id) }
        func workflows(in s: Set<WorkflowStage>) async throws(StoreError) -> [WorkflowRecord] { try await inner.workflows(in: s) }
        func liveWorkflow(sha256: String, profile: String) async throws(StoreError) -> WorkflowRecord? {
            try await inner.liveWorkflow(sha256: sha256, profile: profile)
        }
        func events(workflowID: String) async throws(StoreError) -> [WorkflowEvent] { try await inner.events(workflowID: workflowID) }
        func appendEvent(_ e: WorkflowEvent, lease: WorkflowLease?) async throws(StoreError) { try await inner.appendEvent(e, lease: lease) }
        func stageCounts() async throws(StoreError) -> [WorkflowStage: Int] { try await inner.stageCounts() }
        func recentWorkflows(limit: Int) async throws(StoreError) -> [WorkflowRecord] { try await inner.recentWorkflows(limit: limit) }
        func recordLocation(id: String, path: String) async throws(StoreError) { try await inner.recordLocation(id: id, path: path) }
        func recordDigest(id: String, sha256: String) async throws(StoreError) { try await inner.recordDigest(id: id, sha256: sha256) }

        var node: NodeID { inner.node }
        var isShared: Bool { inner.isShared }
        func acquireLease(workflowID: String, duration: Duration, takeOver: Bool) async throws(StoreError) -> LeaseAttempt {
            try await inner.acquireLease(workflowID: workflowID, duration: duration, takeOver: takeOver)
        }
        func renewLeases(_ leases: [WorkflowLease], duration: Duration) async throws(StoreError) -> [WorkflowLease] {
            try await inner.renewLeases(leases, duration: duration)
        }
        func releaseLease(_ lease: WorkflowLease) async throws(StoreError) { try await inner.releaseLease(lease) }
        func drivableWorkflows(in s: Set<WorkflowStage>) async throws(StoreError) -> DrivableWorkflows { try await inner.drivableWorkflows(in: s) }
        func driver(workflowID: String) async throws(StoreError) -> WorkflowDriver? { try await inner.driver(workflowID: workflowID) }
        func heartbeat(version: String, startedAt: Date) async throws(StoreError) {
            try await inner.heartbeat(version: version, startedAt: startedAt)
        }
        func nodes() async throws(StoreError) -> [NodeRecord] { try await inner.nodes() }
        func reserveServing(_ kind: ResourceRecord.Kind, workflowID: String, limit: Int) async throws(StoreError) -> Bool {
            try await inner.reserveServing(kind, workflowID: workflowID, limit: limit)
        }
        func releaseServing(_ kind: ResourceRecord.Kind, workflowID: String) async throws(StoreError) {
            try await inner.releaseServing(kind, workflowID: workflowID)
        }
        func claimNotification(id: Int64, duration: Duration) async throws(StoreError) -> OutboxEntry? {
            try await inner.claimNotification(id: id, duration: duration)
        }
        func exclusively(_ job: ExclusiveJob, _ body: @Sendable () async -> Void) async throws(StoreError) -> Bool {
            try await inner.exclusively(job, body)
        }
        func evaluationPlan(workflowID: String) async throws(StoreError) -> EvaluationPlan? { try await inner.evaluationPlan(workflowID: workflowID) }
    }

    /// Runs in a child process (`finetuned-bench engine-child N`) so its peak RSS is its own.
    static func child(workflows: Int) async throws {
        let fixture = try EngineFixture(prompts: 5)
        defer { fixture.directory.remove() }
        let timing = TimingStore(fixture.store)
        var policy = EngineFixture.fast
        policy.jobPoll = Backoff(initial: .microseconds(1), maximum: .microseconds(1))
        policy.throughputPoll = policy.jobPoll
        policy.maxConcurrentWorkflows = workflows
        policy.maxLiveThroughputs = workflows
        var script = ScriptSettings()
        script.jobPolls = 2
        script.throughputPolls = 1
        script.throughputQuota = 1_000_000
        let backend = ScriptedBackend(name: "bench", script: script)  // in memory: no state file
        let environment = BenchEnvironment(inner: fixture.environment, backend: backend)
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let engine = WorkflowEngine(store: timing, environment: environment, policy: policy, logger: logger)
        for _ in 0..<workflows { try await fixture.addValidated() }
        let start = ContinuousClock.now
        await engine.schedule()
        while try await fixture.store.stageCounts().contains(where: { !$0.key.isTerminal && $0.value > 0 }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        await engine.idle()
        let elapsed = (ContinuousClock.now - start).seconds
        let samples = timing.samples.sorted()
        let done = try await fixture.store.workflows(in: [.done]).count
        let failed = try await fixture.store.workflows(in: [.failed])
        if let sample = failed.first {
            FileHandle.standardError.write(Data("engine bench: \(failed.count) workflows failed, e.g. \(sample.failure ?? "?")\n".utf8))
        }
        func at(_ q: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * q))].seconds * 1000 }
        print("\(done) \(samples.count) \(elapsed) \(at(0.5)) \(at(0.99)) \(ProcessMeasurement.highWaterMark(pid: getpid()))")
    }

    static func run(workflows: Int) async throws {
        let bench = CommandLine.arguments[0]
        var output = ""
        let measured = try ProcessMeasurement.run(bench, ["engine-child", String(workflows)], stdout: &output)
        let fields = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard measured.status == 0, fields.count == 6 else {
            print("workflow engine: the child run failed (status \(measured.status)): \(output)")
            return
        }
        let (done, commits, seconds, p50, p99) = (Int(fields[0]), Int(fields[1]), fields[2], fields[3], fields[4])
        print("workflow engine, \(workflows) workflows at once, scripted backend without delays (5 prompts each, word-overlap scorer):")
        print(
            String(
                format: "  SQLite: %d done, %d transitions in %.2f s: %.0f transitions/s; commit p50 %.2f ms, p99 %.2f ms; peak RSS %.1f MiB",
                done, commits, seconds, Double(commits) / seconds, p50, p99, measured.peakRSSMegabytes))
        try await runOnPostgreSQL(workflows: workflows)
        let script = """
            import sqlite3, sys, time, tempfile, os
            n = int(sys.argv[1])
            d = tempfile.mkdtemp()
            db = sqlite3.connect(os.path.join(d, "peer.sqlite"), isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE w (id INTEGER PRIMARY KEY, stage TEXT, context TEXT)")
            db.execute("CREATE TABLE e (id INTEGER PRIMARY KEY, w INTEGER, message TEXT)")
            db.executemany("INSERT INTO w VALUES (?, 'validated', '{}')", [(i,) for i in range(1000)])
            t = time.perf_counter()
            for i in range(n):
                db.execute("BEGIN IMMEDIATE")
                db.execute("UPDATE w SET stage = ?, context = ? WHERE id = ?", ("s%d" % i, '{"attempt":1}', i % 1000))
                db.execute("INSERT INTO e (w, message) VALUES (?, ?)", (i % 1000, "transition"))
                db.execute("COMMIT")
            print(n / (time.perf_counter() - t))
            """
        guard let python = Command.which("python3") else { return print("  python sqlite3 floor: not measured (no python3)") }
        let result = try Command.run(python, ["-c", script, String(commits)])
        if let rate = Double(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) {
            print(
                String(format: "  peer, python sqlite3 doing only the commits (same count, WAL, synchronous=FULL, one writer): %.0f commits/s", rate))
            print(
                String(
                    format: "  the engine reaches %.0f%% of that floor while also running the backend calls, the machine and the scheduling",
                    Double(commits) / seconds / rate * 100))
        } else {
            print("  python sqlite3 floor: not measured (\(result.stderr.suffix(200)))")
        }
    }

    /// The idle daemon: resident memory, and wakeups (context switches of all its threads)
    /// per second over ten quiet seconds; once fresh from its start, and once after it has run
    /// a whole local workflow (training, inference, BERTScore, mail): what a daemon that has
    /// done its work sits at, not only one that has not yet touched its heavy paths.
    static func idle() async throws {
        let fresh = try DaemonHarness(configuration: { asInstalled(DaemonHarness.configuration(in: $0)) })
        defer { fresh.tearDown() }
        try fresh.start(arguments: ["--log-to", "stderr", "--log-level", "warning"])
        guard await fresh.waitForReady() != nil else { return print("idle daemon: not ready:\n\(fresh.log)") }
        try await Task.sleep(for: .seconds(2))
        try await measureIdle(
            fresh,
            label:
                "idle daemon, fresh from its start (no workflow in flight, not under systemd so no watchdog; its submit group in /etc/group, as installed), 10 s:"
        )
        fresh.tearDown()

        guard SharedTestData.hasModel else { return print("idle daemon after a workflow: not measured (run scripts/fetch-model)") }
        // Model calls time out after 8 s: the timer of a call that answered, were it left armed,
        // would fire inside the ten seconds measured.
        let worked = try DaemonHarness(
            configuration: {
                asInstalled(DaemonHarness.localRehearsal(in: $0)).replacingOccurrences(
                    of: "[engine]\n", with: "[engine]\ninvoke_timeout_seconds = 8\n")
            }, adapters: ["local"])
        defer { worked.tearDown() }
        try worked.start(arguments: ["--log-to", "stderr", "--log-level", "warning"])
        guard await worked.waitForReady() != nil else { return print("idle daemon: not ready:\n\(worked.log)") }
        let training = try String(
            contentsOfFile: BuiltProducts.packageRoot.appendingPathComponent("examples/summaries-train.jsonl").path, encoding: .utf8)
        try worked.drop(training.split(separator: "\n").prefix(150).joined(separator: "\n") + "\n", as: "bench.jsonl", profile: "summaries")
        let started = ContinuousClock.now
        let ended = try await worked.waitForWorkflows(in: [.done, .failed], dropName: "bench.jsonl", timeout: .seconds(600))
        guard let workflow = ended.first, workflow.stage == .done else {
            return print("idle daemon after a workflow: the workflow did not finish: \(ended.first?.failure ?? "timed out")")
        }
        try await Task.sleep(for: .seconds(3))
        try await measureIdle(
            worked,
            label:
                "idle daemon after one whole local workflow (\(started.duration(to: .now).formatted(.units(allowed: [.seconds], fractionalPart: .hide))): trained, asked, scored, mailed), 10 s:"
        )
    }

    /// The inbox's submit group is one that exists, as `finetuned-submit` does once
    /// `make install` has run sysusers.d: a group found in no file makes glibc load the next
    /// name service (`libnss_systemd`, 0.3 MiB) to keep looking, which an installed daemon never
    /// does. The tests' configuration names a group this machine need not have.
    static func asInstalled(_ configuration: String) -> String {
        let group = getgrgid(getegid()).map { String(cString: $0.pointee.gr_name) } ?? "root"
        return configuration + "\n[inbox]\nsubmit_group = \"\(group)\"\n"
    }

    static func measureIdle(_ daemon: DaemonHarness, label: String) async throws {
        let pid = daemon.pid
        let woke = await daemon.wakeups(over: .seconds(10))
        let wakeups = woke.values.reduce(0, +)
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map {
                String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces)
            } ?? "?"
        }
        print(label)
        print(
            String(
                format:
                    "  RSS %@, of which anonymous %@ and mapped files (the binary, the Swift runtime, Foundation: shared, evictable) %@; goal: under 40 MB after a workflow (40,000,000 bytes: 39,063 kB)",
                field("VmRSS"), field("RssAnon"), field("RssFile")))
        let workers = daemon.children()
        print(
            "  child processes (model workers) left: \(workers.count)"
                + (workers.isEmpty ? "" : " " + workers.map { "\($0.pid) \($0.name) \($0.state)" }.joined(separator: ", ")))
        print(
            String(
                format: "  %.1f wakeups/s over all %@ threads (goal: no timer firing)%@", Double(wakeups) / 10, field("Threads"),
                woke.isEmpty ? "" : "; woke: " + woke.map { "\($0.key) ×\($0.value)" }.sorted().joined(separator: ", ")))
        let threads = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []).compactMap {
            (try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        print("  threads: " + Dictionary(grouping: threads, by: { $0 }).map { "\($0.key) ×\($0.value.count)" }.sorted().joined(separator: ", "))
        print("  largest resident mappings:")
        for (name, kilobytes) in residentMappings(pid: pid).prefix(8) {
            print(String(format: "    %7.1f MiB  %@", Double(kilobytes) / 1024, name))
        }
    }

    /// Resident kilobytes per mapped object (file, or [heap], [anon], [stack]), largest first.
    static func residentMappings(pid: Int32) -> [(String, Int)] {
        // procfs files report size 0: read to the end rather than by the reported size.
        let data = FileHandle(forReadingAtPath: "/proc/\(pid)/smaps").flatMap { try? $0.readToEnd() } ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        var totals: [String: Int] = [:]
        var current = "?"
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), fields.count >= 5, !first.hasSuffix(":") {
                current = fields.count >= 6 ? fields[5...].joined(separator: " ") : "[anon]"
            } else if line.hasPrefix("Rss:"), fields.count >= 2, let kilobytes = Int(fields[1]) {
                totals[current, default: 0] += kilobytes
            }
        }
        return totals.sorted { $0.value > $1.value }
    }
}

/// The fixture's environment with an in-memory backend.
struct BenchEnvironment: WorkflowEnvironment {
    let inner: TestEnvironment
    let backend: ScriptedBackend
    func spec(for workflow: WorkflowRecord) async throws -> WorkflowSpec { try await inner.spec(for: workflow) }
    func backend(named name: String) async throws -> any CustomizationBackend { backend }
    func codec(for spec: WorkflowSpec) async throws -> any InvocationCodec { try await inner.codec(for: spec) }
    var evaluator: any WorkflowEvaluator { inner.evaluator }
    func archiveFolder(for workflowID: String) -> String { inner.archiveFolder(for: workflowID) }
    func notificationChannels() async -> [String] { ["log"] }
    func extraTags() async -> [String: String] { [:] }
    func notificationsQueued() async {}
    func stageChanged() async {}
    func engineWentIdle() async {}
}
