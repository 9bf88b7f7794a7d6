import FinetunedPostgreSQLStore
import FinetunedTestSupport
import FinetunedTime
import FinetunedWorkflow
import Foundation
import Logging
import PostgresNIO
import Testing

extension PostgreSQLPeerTests {
    /// What every `WorkflowStore` must do, run against SQLite and against a real PostgreSQL (a
    /// throwaway cluster on a Unix socket). "Reopening" opens a second store on the same database,
    /// as a restarted daemon would.
    @Suite("the workflow store's contract, on SQLite and PostgreSQL", .serialized)
    struct StoreContractTests {
        enum Engine: String, CaseIterable, CustomTestStringConvertible {
            case sqlite, postgresql
            var testDescription: String { rawValue }
        }

        /// One database of one engine, and the stores opened on it.
        final class Database: @unchecked Sendable {
            let engine: Engine
            private let directory: TemporaryDirectory
            private var cluster: PostgreSQLCluster?
            private var running: [Task<Void, Never>] = []

            init(_ engine: Engine) async throws {
                self.engine = engine
                directory = try TemporaryDirectory(prefix: "store")
                if engine == .postgresql {
                    let cluster = try PostgreSQLCluster()
                    try cluster.createDatabase("finetuned")
                    self.cluster = cluster
                }
            }

            /// A store on this database acting as `node`, as that daemon would open it.
            func open(node: NodeID = "node-a") async throws -> any WorkflowStore {
                switch engine {
                case .sqlite:
                    return try SQLiteWorkflowStore(path: directory.file("finetuned.sqlite"), node: node)
                case .postgresql:
                    let cluster = try #require(cluster)
                    let store = PostgreSQLWorkflowStore(
                        configuration: .init(
                            unixSocketPath: cluster.socketDirectory + "/.s.PGSQL.5432", username: cluster.user, password: nil, database: "finetuned"),
                        node: node, logger: Logger(label: "store-test"))
                    running.append(Task { await store.run() })
                    try await store.migrate()
                    return store
                }
            }

            /// SQL through psql, as an operator would run it; its output, unaligned and bare.
            @discardableResult
            func psql(_ sql: String) throws -> String {
                try #require(cluster).psql(database: "finetuned", sql)
            }

            func close() {
                for task in running { task.cancel() }
                cluster?.stop()
                directory.remove()
            }
        }

        func record(_ id: String = WorkflowRecord.newID(), sha: String? = "abc", stage: WorkflowStage = .claiming) -> WorkflowRecord {
            WorkflowRecord(
                id: id, profile: "summaries", dropName: "q3.jsonl", sha256: sha, spoolPath: "/spool/\(id).jsonl", stage: stage,
                createdAt: Date(), updatedAt: Date(), ownerUID: 1001)
        }

        @Test(
            "a transition from a stage the workflow is no longer in is refused and changes nothing", arguments: Engine.allCases)
        func compareAndSet(engine: Engine) async throws {
            try #require(engine == .sqlite || PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let database = try await Database(engine)
            defer { database.close() }
            let store = try await database.open()
            let workflow = record()
            try await store.insert(workflow, event: "new")
            _ = try await store.transition(id: workflow.id, from: .claiming, to: .claimed, event: "a", failure: nil)
            await #expect(throws: StoreError.stageConflict(id: workflow.id, expected: .claiming, actual: .claimed)) {
                try await store.transition(id: workflow.id, from: .claiming, to: .claimed, event: "again", failure: nil)
            }
            #expect(try await store.events(workflowID: workflow.id).count == 2)
            await #expect(throws: StoreError.notFound(id: "wf-nope")) {
                try await store.transition(id: "wf-nope", from: .claiming, to: .claimed, event: "x", failure: nil)
            }
            await #expect(throws: StoreError.duplicateID(workflow.id)) { try await store.insert(workflow, event: "twice") }
            let read = try #require(try await store.workflow(id: workflow.id))
            #expect(read.stage == .claimed && read.ownerUID == 1001 && read.sha256 == "abc" && read.dropName == "q3.jsonl")
            #expect(UTCTime(read.createdAt).databaseText == UTCTime(workflow.createdAt).databaseText, "dates to the millisecond")
        }

        @Test("duplicate detection sees live workflows only; abandoned claims disappear", arguments: Engine.allCases)
        func liveDuplicates(engine: Engine) async throws {
            try #require(engine == .sqlite || PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let database = try await Database(engine)
            defer { database.close() }
            let store = try await database.open()
            let first = record(sha: "same")
            try await store.insert(first, event: "new")
            #expect(try await store.liveWorkflow(sha256: "same", profile: "summaries")?.id == first.id)
            #expect(try await store.liveWorkflow(sha256: "same", profile: "other") == nil)
            _ = try await store.transition(id: first.id, from: .claiming, to: .rejected, event: "bad", failure: "x")
            #expect(try await store.liveWorkflow(sha256: "same", profile: "summaries") == nil)
            #expect(try await store.workflow(id: first.id)?.failure == "x")

            let abandoned = record(sha: "gone")
            try await store.insert(abandoned, event: "new")
            try await store.abandonClaim(id: abandoned.id)
            #expect(try await store.workflow(id: abandoned.id) == nil)
            #expect(try await store.events(workflowID: abandoned.id).isEmpty)
            #expect(try await store.workflows(in: [.claiming]).isEmpty)
            #expect(try await store.stageCounts() == [.rejected: 1])
            #expect(try await store.recentWorkflows(limit: 5).map(\.id) == [first.id])
            try await store.recordLocation(id: first.id, path: "/rejected/q3.jsonl")
            try await store.recordDigest(id: first.id, sha256: "def")
            let moved = try #require(try await store.workflow(id: first.id))
            #expect(moved.spoolPath == "/rejected/q3.jsonl" && moved.sha256 == "def")
        }

        @Test("advance commits stage, context, event, resources and notifications together, or nothing at all", arguments: Engine.allCases)
        func advanceIsAtomic(engine: Engine) async throws {
            try #require(engine == .sqlite || PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let database = try await Database(engine)
            defer { database.close() }
            let store = try await database.open()
            let workflow = record(stage: .validated)
            try await store.insert(workflow, event: "validated")
            var context = WorkflowContext()
            context.jobARN = "arn:job"
            context.attempt = 2
            let step = WorkflowStep(
                id: workflow.id, from: .uploaded, to: .jobCreated, context: context, message: "job created",
                resources: [.created(ResourceRecord(workflowID: workflow.id, kind: .job, identifier: "arn:job", name: "j"))],
                notifications: [OutboxEntry(workflowID: workflow.id, channel: "log", kind: "x", payload: "{}")])
            await #expect(throws: StoreError.self) { try await store.advance(step) }
            #expect(try await store.workflow(id: workflow.id)?.stage == .validated)
            #expect(try await store.resources(workflowID: workflow.id).isEmpty)
            #expect(try await store.pendingNotifications().isEmpty)
            #expect(try await store.events(workflowID: workflow.id).count == 1)

            var good = step
            good.from = .validated
            let moved = try await store.advance(good)
            #expect(moved.stage == .jobCreated && moved.context == context)
            let reopened = try await database.open()
            #expect(try await reopened.workflow(id: workflow.id)?.context == context, "the context survives reopening")
            #expect(try await reopened.resources(workflowID: workflow.id).map(\.identifier) == ["arn:job"])
            #expect(try await reopened.liveResources(kind: .job).map(\.name) == ["j"])
            #expect(try await reopened.liveResources(kind: .throughput).isEmpty)
            #expect(try await reopened.drivableWorkflows(in: [.jobCreated]).workflows.map(\.id) == [workflow.id])
            #expect(try await reopened.pendingNotifications().map(\.kind) == ["x"])
            #expect(try await reopened.events(workflowID: workflow.id).last?.message == "validated → job_created: job created")

            _ = try await reopened.advance(
                WorkflowStep(
                    id: workflow.id, from: .jobCreated, to: .training, context: context, message: "m",
                    resources: [.deleted(kind: .job, identifier: "arn:job")]))
            #expect(try await reopened.liveResources().isEmpty)
            var entry = try #require(try await reopened.pendingNotifications().first)
            entry.deliveredAt = Date()
            entry.attempts = 1
            try await reopened.updateNotification(entry)
            #expect(try await reopened.pendingNotifications().isEmpty)
            #expect(try await reopened.notifications(workflowID: workflow.id).map(\.attempts) == [1])
            try await reopened.enqueue([OutboxEntry(workflowID: workflow.id, channel: "maildir", kind: "y", payload: "{}")])
            #expect(try await reopened.pendingNotifications().map(\.channel) == ["maildir"])
            try await reopened.saveAnswer(
                InferenceAnswer(workflowID: workflow.id, model: "base", index: 3, output: nil, failure: "timeout", attempts: 1))
            try await reopened.saveAnswer(
                InferenceAnswer(
                    workflowID: workflow.id, model: "base", index: 3, output: "text", failure: nil, attempts: 2, latencySeconds: 0.5, inputTokens: 12,
                    outputTokens: 4))
            let answers = try await reopened.answers(workflowID: workflow.id)
            #expect(answers.map(\.output) == ["text"] && answers.first?.outputTokens == 4, "a later answer replaces the checkpoint")
            try await reopened.markResourceDeleted(kind: .job, identifier: "arn:job", at: Date())
            try await reopened.appendEvent(WorkflowEvent(workflowID: workflow.id, stage: .training, kind: .note, message: "a note"))
            #expect(try await reopened.events(workflowID: workflow.id).last?.kind == .note)
        }

        @Test("PostgreSQL: migrations apply once however often the store opens, and a newer schema is refused")
        func postgresMigrations() async throws {
            try #require(PostgreSQLCluster.isInstalled, "PostgreSQL is missing: make test installs it")
            let database = try await Database(.postgresql)
            defer { database.close() }
            _ = try await database.open()
            _ = try await database.open()
            let store = try #require(try await database.open() as? PostgreSQLWorkflowStore)
            try database.psql("INSERT INTO schema_migrations (id, applied_at) VALUES ('v99: from the future', '2030-01-01 00:00:00.000')")
            #expect(try database.psql("SELECT count(*) FROM schema_migrations") == "\(StoreSchema.migrations.count + 1)\n")
            await #expect(
                throws: StoreError.database(
                    "the database has migration 'v99: from the future', which this finetuned does not know: it was written by a newer version")
            ) {
                try await store.migrate()
            }
        }
    }
}
