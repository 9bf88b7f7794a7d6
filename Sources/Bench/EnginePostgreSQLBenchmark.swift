import FinetunedConfig
import FinetunedPostgreSQLStore
import FinetunedScriptedBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging

/// The engine benchmark on a PostgreSQL store: one node, or several engines each on its own
/// connection pool and node id sharing the database, as daemons on several hosts would (here
/// in one process, so the figure is the store's and the engine's, not the network's). Each
/// node gets its share of the drops, as if they reached its inbox.
extension EngineBenchmark {
    static func postgreSQLChild(workflows: Int, socketDirectory: String, database: String, nodes: Int) async throws {
        let directory = try TemporaryDirectory(prefix: "ftpg")
        defer { directory.remove() }
        let evaluationSet = try directory.write("eval.jsonl", EngineFixture.evaluationSet(5))
        let spool = try directory.write(
            "spool.jsonl", (1...20).map { #"{"prompt":"Summarize ticket \#($0).","completion":"Ticket \#($0)."}"# + "\n" }.joined())
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        var script = ScriptSettings()
        script.jobPolls = 2
        script.throughputPolls = 1
        script.throughputQuota = 1_000_000
        let backend = ScriptedBackend(name: "bench", script: script)
        var policy = EngineFixture.fast
        policy.jobPoll = Backoff(initial: .microseconds(1), maximum: .microseconds(1))
        policy.throughputPoll = policy.jobPoll
        policy.maxConcurrentWorkflows = workflows
        policy.maxLiveThroughputs = workflows

        var stores: [TimingStore] = []
        var pools: [Task<Void, Never>] = []
        var engines: [WorkflowEngine] = []
        for index in 1...nodes {
            let store = PostgreSQLWorkflowStore(
                configuration: .init(unixSocketPath: socketDirectory + "/.s.PGSQL.5432", username: "postgres", password: nil, database: database),
                node: NodeID("bench-\(index)"), logger: logger)
            pools.append(Task { await store.run() })
            try await store.migrate()
            let timing = TimingStore(store)
            let environment = BenchEnvironment(
                inner: TestEnvironment(backend: backend, archive: directory.file("archive"), evaluationSet: evaluationSet, store: store),
                backend: backend)
            stores.append(timing)
            engines.append(WorkflowEngine(store: timing, environment: environment, policy: policy, logger: logger))
        }
        defer { for pool in pools { pool.cancel() } }
        for n in 0..<workflows {
            let store = stores[n % nodes].inner, id = WorkflowRecord.newID(), now = Date()
            try await store.insert(
                WorkflowRecord(
                    id: id, profile: "drill", dropName: "d\(n).jsonl", sha256: nil, spoolPath: spool, stage: .claimed, createdAt: now, updatedAt: now),
                event: "bench drop")
            _ = try await store.transition(id: id, from: .claimed, to: .validated, event: "valid", failure: nil)
        }
        let start = ContinuousClock.now
        for engine in engines { await engine.schedule() }
        while try await stores[0].stageCounts().contains(where: { !$0.key.isTerminal && $0.value > 0 }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        for engine in engines { await engine.idle() }
        let elapsed = (ContinuousClock.now - start).seconds
        let samples = stores.flatMap(\.samples).sorted()
        let done = try await stores[0].workflows(in: [.done]).count
        func at(_ q: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * q))].seconds * 1000 }
        print("\(done) \(samples.count) \(elapsed) \(at(0.5)) \(at(0.99)) \(ProcessMeasurement.highWaterMark(pid: getpid()))")
    }

    /// Runs the PostgreSQL children beside the SQLite one: a throwaway cluster on a Unix socket,
    /// a fresh database per run.
    static func runOnPostgreSQL(workflows: Int) async throws {
        guard PostgreSQLCluster.isInstalled else { return print("  PostgreSQL: not measured (the postgresql package is not installed)") }
        let cluster = try PostgreSQLCluster(durable: true)
        defer { cluster.stop() }
        for nodes in [1, 3] {
            let database = "bench\(nodes)"
            try cluster.createDatabase(database)
            var output = ""
            let measured = try ProcessMeasurement.run(
                CommandLine.arguments[0], ["engine-child-postgresql", String(workflows), cluster.socketDirectory, database, String(nodes)],
                stdout: &output)
            let fields = output.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            guard measured.status == 0, fields.count == 6 else {
                print("  PostgreSQL, \(nodes) node(s): the child run failed (status \(measured.status)): \(output)")
                continue
            }
            let (done, commits, seconds, p50, p99) = (Int(fields[0]), Int(fields[1]), fields[2], fields[3], fields[4])
            print(
                String(
                    format:
                        "  PostgreSQL (a local server on a Unix socket, fsync on), %@: %d done, %d transitions in %.2f s: %.0f transitions/s; commit p50 %.2f ms, p99 %.2f ms",
                    nodes == 1 ? "one engine" : "\(nodes) engines sharing it, a third of the drops each", done, commits, seconds,
                    Double(commits) / seconds, p50,
                    p99))
        }
    }
}
