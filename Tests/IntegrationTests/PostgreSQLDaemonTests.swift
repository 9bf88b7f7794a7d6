import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

extension PostgreSQLPeerTests {
    /// The daemon with `[store] url`: its workflows in a real PostgreSQL (a throwaway cluster on a
    /// Unix socket), and a second daemon with the same node id refused.
    @Suite(
        "the daemon on a PostgreSQL store", .serialized,
        .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"))
    struct PostgreSQLDaemonTests {
        @Test("a drop runs to the end with its workflow in PostgreSQL; a second daemon with the same node id is refused, with why")
        func endToEnd() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let cluster = try PostgreSQLCluster()
            defer { cluster.stop() }
            try cluster.createDatabase("finetuned")
            let store = "\n[store]\nurl = \"postgresql://\(cluster.user)@/finetuned?host=\(cluster.socketDirectory)\"\n"
            let daemon = try DaemonHarness(configuration: { CrashTests.configuration($0) + store }, adapters: ["local"])
            defer { daemon.tearDown() }
            try FileManager.default.createDirectory(atPath: daemon.inbox + "/drill", withIntermediateDirectories: true)
            try daemon.start()
            #expect(await daemon.waitForReady() != nil, "\(daemon.log.suffix(2000))")
            try daemon.drop(TrainingRecords.summaries(20), as: "pg.jsonl", profile: "drill")
            var stage = ""
            for _ in 0..<600 where stage != "done" && stage != "failed" {
                try await Task.sleep(for: .milliseconds(100))
                stage = try cluster.psql(database: "finetuned", "SELECT stage FROM workflows WHERE drop_name = 'pg.jsonl'")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            #expect(stage == "done", "\(daemon.log.suffix(3000))")
            #expect(!FileManager.default.fileExists(atPath: daemon.databasePath), "no SQLite file: the store is PostgreSQL")
            let listed = try await daemon.ctl(["list", "--all"])
            #expect(listed.status == 0 && listed.stdout.contains("pg.jsonl") && listed.stdout.contains(" done "), "\(listed.stdout)\(listed.stderr)")
            let events = try cluster.psql(
                database: "finetuned", "SELECT count(*) FROM events e JOIN workflows w ON w.id = e.workflow_id WHERE w.drop_name = 'pg.jsonl'")
            #expect((Int(events.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 10)

            let second = try DaemonHarness(configuration: { CrashTests.configuration($0) + store }, adapters: ["local"])
            defer { second.tearDown() }
            try second.start()
            #expect(await second.waitForExit(timeout: .seconds(30)) != nil, "the second daemon must not run")
            #expect(
                second.log.contains(
                    "another finetuned with node id '\(NodeID.machine())' is using this database; give each daemon its own [store] node_id"),
                "\(second.log.suffix(2000))")
            let status = try await daemon.ctl(["status"])
            #expect(status.stdout.contains("nodes:         1 sharing the store; this one is \(NodeID.machine())"), "\(status.stdout)")
            #expect(daemon.isRunning, "the first daemon goes on")
        }
    }
}
