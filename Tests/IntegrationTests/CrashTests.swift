import FinetunedFaults
import FinetunedScriptedBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

/// The real daemon, crashed on purpose at every step of a full run and killed at random
/// moments; the scripted backend's record (a file the daemon does not own) tells what the
/// crashed runs really created.
@Suite(
    "Crash safety of the daemon", .serialized,
    .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
struct CrashTests {
    /// A daemon directory whose profile `drill` runs on a fast scripted backend and scores
    /// with the real BERTScore evaluator.
    static func configuration(_ dir: TemporaryDirectory) -> String {
        _ = try? dir.write("drill-eval.jsonl", EngineFixture.evaluationSet(5))
        let text =
            (DaemonHarness.configuration(in: dir, profiles: []) + """

                [backends.drill]
                kind = "scripted"
                state_file = "\(dir.file("drill.json"))"
                job_polls = 2
                throughput_polls = 1

                [limits]
                max_concurrent_workflows = 4
                max_live_throughputs = 1000

                [evaluation]
                min_prompts = 5
                resamples = 1000

                [profiles.drill]
                adapter = "local"
                base_model = "local.minilm-extractive-v1"
                backend = "drill"
                evaluation_set = "\(dir.file("drill-eval.jsonl"))"
                """)
            .replacingOccurrences(
                of: "job_poll_seconds = 3600", with: "job_poll_seconds = 0.01\nthroughput_poll_seconds = 0.01\nretry_base_seconds = 0.01")
        return DaemonHarness.usingSharedModel(text, in: dir)
    }

    /// One daemon directory reused by every run; each run drops its own training set.
    final class Rig: @unchecked Sendable {
        let daemon: DaemonHarness
        var drops = 0

        init() throws {
            daemon = try DaemonHarness(configuration: CrashTests.configuration, adapters: ["local"])
            // Drops are made while the daemon is down too: the folder must exist already.
            try FileManager.default.createDirectory(atPath: daemon.inbox + "/drill", withIntermediateDirectories: true)
        }

        func drop() throws -> String {
            drops += 1
            let name = "run-\(drops).jsonl"
            try daemon.drop(TrainingRecords.summaries(20, tag: "r\(drops)-"), as: name, profile: "drill")
            return name
        }

        private var opened: SQLiteWorkflowStore?

        /// The daemon's own database, opened once (WAL lets it read while the daemon writes).
        func store() throws -> SQLiteWorkflowStore {
            if let opened { return opened }
            let store = try SQLiteWorkflowStore(path: daemon.databasePath)
            opened = store
            return store
        }

        func workflow(named name: String) async throws -> WorkflowRecord? {
            try await store().recentWorkflows(limit: 10_000).first { $0.dropName == name }
        }

        /// Starts the daemon; without faults, returns once it is ready.
        func start(faults: String? = nil, waitForReady: Bool = false) async throws {
            // The Swift runtime's backtracer would spend seconds symbolicating each abort().
            try daemon.start(
                environment: (faults.map { ["FINETUNED_TEST_FAULTS": $0] } ?? [:]).merging(["SWIFT_BACKTRACE": "enable=no"]) { a, _ in a })
            // A run with a fault may abort before it is ready: settle() watches that one.
            if faults == nil || waitForReady { _ = await daemon.notify.next(where: { $0.assignments["READY"] == "1" }, timeout: .seconds(20)) }
        }

        /// Waits until the named drop's workflow is terminal, or the daemon exits.
        func settle(_ name: String, timeout: Duration = .seconds(60)) async throws -> WorkflowRecord? {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let record = try await workflow(named: name), record.stage.isTerminal { return record }
                if !daemon.isRunning { return try await workflow(named: name) }
                try await Task.sleep(for: .milliseconds(10))
            }
            return try await workflow(named: name)
        }

        func stop() async {
            daemon.signal(SIGTERM)
            _ = await daemon.waitForExit()
        }

        func stages(_ id: String) async throws -> [WorkflowStage] { try await store().stagePath(workflowID: id) }

        /// What the backend holds for one workflow, found by its tag as an operator would.
        func backend(for id: String) throws -> (jobs: Int, throughputs: Int, live: Int) {
            let state = try ScriptedBackend.state(at: daemon.directory.file("drill.json"))
            let mine = state.throughputs.filter { $0.tags["finetuned:workflow-id"] == id }
            return (state.jobs.filter { $0.tags["finetuned:workflow-id"] == id }.count, mine.count, mine.filter { !$0.deleted }.count)
        }
    }

    /// Crashes one run at point `k` of kind `point`, restarts, and checks the invariants
    /// against the uninterrupted run. Returns false once k is past the run's last point.
    /// With `reworded`, both daemons record every event message and failure reason reworded.
    static func crashAndRecover(_ rig: Rig, point: String, k: Int, baseline: [WorkflowStage], reworded: Bool = false) async throws -> Bool {
        let name = try rig.drop()
        try await rig.start(faults: "\(point)=\(k)" + (reworded ? ",reword-messages" : ""))
        _ = try await rig.settle(name)
        // The fault fires right after a commit: give a run that reached its end a moment to abort.
        _ = await rig.daemon.waitForExit(timeout: .milliseconds(300))
        let crashed =
            !rig.daemon.isRunning
            && rig.daemon.log.contains("test fault: aborting \(point == "abort-after-request" ? "after request" : "after transition") \(k)")
        if !crashed { await rig.stop() }
        try await rig.start(faults: reworded ? "reword-messages" : nil, waitForReady: true)
        let record = try #require(try await rig.settle(name), "\(point)=\(k): no workflow for \(name)\n\(rig.daemon.log.suffix(3000))")
        await rig.stop()
        #expect(record.stage == .done, "\(point)=\(k): \(record.stage) \(record.failure ?? "")")
        #expect(try await rig.stages(record.id) == baseline, "\(point)=\(k): a different path")
        let backend = try rig.backend(for: record.id)
        #expect(backend.jobs == 1, "\(point)=\(k): \(backend.jobs) customization jobs")
        #expect(
            backend.throughputs == 1 && backend.live == 1,
            "\(point)=\(k): \(backend.throughputs) throughputs, \(backend.live) live\n\(rig.daemon.log.suffix(4000))")
        #expect(
            try await rig.store().notifications(workflowID: record.id).filter { $0.kind == "kept" }.count == 1,
            "\(point)=\(k): one notification for one outcome")
        return crashed
    }

    @Test(
        "abort() right after every committed transition, then after every backend answer with every message reworded: one job, one throughput, the same path"
    )
    func crashAtEveryStep() async throws {
        let rig = try Rig()
        defer { rig.daemon.tearDown() }
        let name = try rig.drop()
        try await rig.start()
        let clean = try #require(try await rig.settle(name))
        await rig.stop()
        #expect(clean.stage == .done, "\(clean.failure ?? "")\n\(rig.daemon.log.suffix(3000))")
        let baseline = try await rig.stages(clean.id)
        try #require(baseline.last == .done && baseline.contains(.kept), "\(String(describing: clean.context.scores))")

        var transitions = 0
        for k in 1...60 {
            guard try await Self.crashAndRecover(rig, point: "abort-after-transition", k: k, baseline: baseline) else { break }
            transitions = k
        }
        // No behaviour may depend on the words of an event or a failure: from here on, every
        // one is recorded reworded, and the runs must recover exactly as before.
        var requests = 0
        for k in 1...200 {
            guard try await Self.crashAndRecover(rig, point: "abort-after-request", k: k, baseline: baseline, reworded: true) else { break }
            requests = k
        }
        let last = try #require(try await rig.workflow(named: "run-\(rig.drops).jsonl"))
        let events = try await rig.store().events(workflowID: last.id)
        #expect(
            events.count > 10 && events.allSatisfy { $0.message.contains(Faults.rewordMarker) },
            "the fault reworded every message: \(events.map(\.message).prefix(3))")
        // uploaded … done: 13 commits, each crashed after once.
        #expect(transitions == 13, "crashed after each of \(transitions) transitions")
        #expect(requests >= 20, "crashed after each of \(requests) backend answers")
        FileHandle.standardError.write(Data("crash points: \(transitions) transitions, \(requests) requests\n".utf8))
    }

    @Test("kill -9 at random moments over 50 runs: every drop finishes once, nothing is paid twice or left running")
    func randomKills() async throws {
        let rig = try Rig()
        defer { rig.daemon.tearDown() }
        var rng = SystemRandomNumberGenerator()
        var names: [String] = []
        for _ in 0..<50 {
            let name = try rig.drop()
            names.append(name)
            try await rig.start()
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...400, using: &rng)))
            rig.daemon.signal(SIGKILL)
            _ = await rig.daemon.waitForExit()
        }
        try await rig.start()
        for name in names {
            let record = try #require(try await rig.settle(name, timeout: .seconds(120)))
            #expect(record.stage == .done, "\(name): \(record.stage) \(record.failure ?? "")")
            let backend = try rig.backend(for: record.id)
            #expect(backend.jobs == 1 && backend.throughputs == 1, "\(name): \(backend)")
        }
        await rig.stop()
        #expect(try await rig.store().integrityCheck() == "ok")
        let drops = try await rig.store().recentWorkflows(limit: 1000)
        #expect(drops.count == 50, "no drop lost or claimed twice")
    }

    @Test("weights that are not the expected all-MiniLM-L6-v2 are refused before scoring: the workflow fails with the hash, nothing is kept")
    func wrongModel() async throws {
        let daemon = try DaemonHarness(
            configuration: { dir in
                // A model directory whose weights are not the expected file.
                _ = try? dir.write("bad-models/all-MiniLM-L6-v2/model.safetensors", "not the weights")
                _ = try? dir.write("bad-models/all-MiniLM-L6-v2/vocab.txt", "[PAD]\n")
                return CrashTests.configuration(dir).replacingOccurrences(
                    of: "models = \"\(SharedTestData.modelDirectory.deletingLastPathComponent().path)\"",
                    with: "models = \"\(dir.file("bad-models"))\"")
            }, adapters: ["local"])
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        try daemon.drop(TrainingRecords.summaries(20), as: "wrong-model.jsonl", profile: "drill")
        let failed = try #require(try await daemon.waitForWorkflows(in: [.failed], dropName: "wrong-model.jsonl").first)
        #expect(failed.failure?.contains("has sha256 ") == true && failed.failure?.contains(", not the 53aa5117") == true, "\(failed.failure ?? "")")
        let state = try ScriptedBackend.state(at: daemon.directory.file("drill.json"))
        #expect(state.liveThroughputs.isEmpty, "the throughput of a workflow that could not be scored is deleted")
    }
}
