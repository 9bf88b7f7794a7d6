import FinetunedPostgreSQLStore
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging
import Testing

extension PostgreSQLPeerTests {
    /// `finetunectl store migrate`: a real daemon's SQLite store, with one finished workflow and
    /// one in the middle of training, copied into PostgreSQL; every row reads back the same, a
    /// second copy is refused, and the daemon, restarted on PostgreSQL, drives the unfinished one.
    @Suite(
        "finetunectl store migrate: SQLite into PostgreSQL", .serialized,
        .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
    struct StoreMigrationTests {
        static func migrate(_ daemon: DaemonHarness, _ arguments: [String]) async throws -> CommandResult {
            let full = ["store", "migrate", "--socket", daemon.socketPath] + arguments
            return try await blocking { try Command.run(BuiltProducts.executable("finetunectl"), full) }
        }

        @Test("a finished and an unfinished workflow move row for row; the daemon goes on from PostgreSQL", .timeLimit(.minutes(4)))
        func migrate() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let daemon = try DaemonHarness(
                configuration: { dir in
                    CrashTests.configuration(dir) + """

                        [profiles.waits]
                        adapter = "local"
                        base_model = "local.minilm-extractive-v1"
                        backend = "slow"
                        evaluation_set = "\(dir.file("drill-eval.jsonl"))"

                        """
                }, adapters: ["local"])
            defer { daemon.tearDown() }
            for folder in ["drill", "waits"] {
                try FileManager.default.createDirectory(atPath: daemon.inbox + "/" + folder, withIntermediateDirectories: true)
            }
            try daemon.start()
            #expect(await daemon.waitForReady() != nil, "\(daemon.log.suffix(2000))")
            try daemon.drop(TrainingRecords.summaries(20, tag: "a"), as: "finished.jsonl", profile: "drill")
            _ = try await daemon.waitForWorkflows(in: [.done], dropName: "finished.jsonl", timeout: .seconds(60))
            try daemon.drop(TrainingRecords.summaries(20, tag: "b"), as: "training.jsonl", profile: "waits")
            let training = try #require(try await daemon.waitForWorkflows(in: [.training], dropName: "training.jsonl", timeout: .seconds(60)).first)

            let cluster = try PostgreSQLCluster()
            defer { cluster.stop() }
            try cluster.createDatabase("finetuned")
            let url = "postgresql://\(cluster.user)@/finetuned?host=\(cluster.socketDirectory)"
            let running = try await Self.migrate(daemon, ["--to", url, "--from", daemon.databasePath])
            #expect(running.status == 1 && running.stderr.contains("finetuned is running"), "\(running.stdout)\(running.stderr)")

            daemon.signal(SIGTERM)
            #expect(await daemon.waitForExit() == 0)
            let sqlite = try SQLiteWorkflowStore(path: daemon.databasePath)
            let moved = try await Self.migrate(daemon, ["--to", url, "--from", daemon.databasePath, "--node-id", "moved-host"])
            #expect(moved.status == 0, "\(moved.stdout)\(moved.stderr)")
            #expect(moved.stdout.contains("workflows         2 rows, identical"), "\(moved.stdout)")
            #expect(moved.stdout.contains("pinned to node moved-host"))

            let postgres = PostgreSQLWorkflowStore(
                configuration: .init(
                    unixSocketPath: cluster.socketDirectory + "/.s.PGSQL.5432", username: cluster.user, password: nil, database: "finetuned"),
                node: "observer", logger: Logger(label: "observer"))
            let pool = Task { await postgres.run() }
            defer { pool.cancel() }
            let before = try await sqlite.recentWorkflows(limit: 10)
            #expect(before.count == 2)
            #expect(try await postgres.recentWorkflows(limit: 10) == before)
            for workflow in before {
                #expect(try await postgres.events(workflowID: workflow.id) == sqlite.events(workflowID: workflow.id))
                #expect(try await postgres.resources(workflowID: workflow.id) == sqlite.resources(workflowID: workflow.id))
                #expect(try await postgres.answers(workflowID: workflow.id) == sqlite.answers(workflowID: workflow.id))
                #expect(try await postgres.notifications(workflowID: workflow.id) == sqlite.notifications(workflowID: workflow.id))
                #expect(try await postgres.evaluationPlan(workflowID: workflow.id) == sqlite.evaluationPlan(workflowID: workflow.id))
            }
            // No lease survives a copy; past its upload, the workflow is pinned nowhere.
            let driver = try #require(try await postgres.driver(workflowID: training.id))
            #expect(driver.node == nil && driver.expiresIn == nil && driver.pinnedTo == nil && driver.epoch >= 1, "\(driver)")

            let again = try await Self.migrate(daemon, ["--to", url, "--from", daemon.databasePath])
            #expect(again.status == 1 && again.stderr.contains("a store is copied only into an empty database"), "\(again.stderr)")

            // The daemon, now on PostgreSQL under the node id the copy pinned to, drives what was left.
            let configuration = try String(contentsOfFile: daemon.configPath, encoding: .utf8)
            _ = try daemon.directory.write("finetuned.toml", configuration + "\n[store]\nurl = \"\(url)\"\nnode_id = \"moved-host\"\n")
            try FileManager.default.removeItem(atPath: daemon.databasePath)
            try daemon.start()
            #expect(await daemon.waitForReady() != nil, "\(daemon.log.suffix(2000))")
            let shown = try await daemon.ctl(["show", training.id])
            #expect(shown.stdout.contains("node:     moved-host"), "\(shown.stdout)")
            let cancelled = try await daemon.ctl(["cancel", training.id])
            #expect(cancelled.status == 0, "\(cancelled.stdout)\(cancelled.stderr)")
            var stage = WorkflowStage.training
            for _ in 0..<300 where !stage.isTerminal {
                try await Task.sleep(for: .milliseconds(100))
                stage = try await postgres.workflow(id: training.id)?.stage ?? stage
            }
            #expect(stage == .cancelled, "\(daemon.log.suffix(2000))")
            #expect(try await postgres.events(workflowID: training.id).last?.node == "moved-host")
        }
    }
}
