import FinetunedTestSupport
import Foundation
import GRDB
import Testing

@testable import FinetunedWorkflow

/// The SQLite store, on a real file.
@Suite("Workflow store (SQLite)")
struct WorkflowStoreTests {
    func record(_ id: String = WorkflowRecord.newID(), sha: String? = "abc", stage: WorkflowStage = .claiming) -> WorkflowRecord {
        WorkflowRecord(
            id: id, profile: "summaries", dropName: "q3.jsonl", sha256: sha, spoolPath: "/spool/\(id).jsonl",
            stage: stage, createdAt: Date(), updatedAt: Date())
    }

    @Test("workflows, transitions and their events survive reopening the file")
    func persistence() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("finetuned.sqlite")
        let id: String
        do {
            let store = try SQLiteWorkflowStore(path: path)
            let workflow = record()
            id = workflow.id
            try await store.insert(workflow, event: "claiming q3.jsonl")
            _ = try await store.transition(id: id, from: .claiming, to: .claimed, event: "moved into the spool", failure: nil)
            _ = try await store.transition(id: id, from: .claimed, to: .rejected, event: "validation failed", failure: "3 errors")
        }
        let reopened = try SQLiteWorkflowStore(path: path)
        let loaded = try #require(try await reopened.workflow(id: id))
        #expect(loaded.stage == .rejected)
        #expect(loaded.failure == "3 errors")
        #expect(
            try await reopened.events(workflowID: id).map(\.message) == [
                "claiming q3.jsonl", "claiming → claimed: moved into the spool", "claimed → rejected: validation failed",
            ])
        #expect(try await reopened.integrityCheck() == "ok")
    }

    @Test("dates are stored as GRDB's own default text (written without its ICU formatter) and read back to the millisecond")
    func dateText() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("finetuned.sqlite")
        let store = try SQLiteWorkflowStore(path: path)
        let created = Date(timeIntervalSince1970: 1_795_857_005.25)
        var workflow = record()
        workflow.createdAt = created
        try await store.insert(workflow, event: "claiming q3.jsonl")
        let raw = try await DatabaseQueue(path: path).read { try String.fetchOne($0, sql: "SELECT created_at FROM workflows") }
        #expect(raw == "2026-11-28 09:10:05.250")
        #expect(raw == String.fromDatabaseValue(created.databaseValue), "GRDB's default encoding of the same date")
        #expect(try await store.workflow(id: workflow.id)?.createdAt == created)
    }

    @Test("after letting go of its caches the store reads and writes as before")
    func releaseMemory() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try SQLiteWorkflowStore(path: dir.file("s.sqlite"))
        let workflow = record()
        try await store.insert(workflow, event: "new")
        #expect(try await store.workflow(id: workflow.id)?.stage == .claiming)
        await store.releaseMemory()
        #expect(try await store.workflow(id: workflow.id)?.stage == .claiming)
        _ = try await store.transition(id: workflow.id, from: .claiming, to: .claimed, event: "claimed", failure: nil)
        await store.releaseMemory()
        #expect(try await store.workflow(id: workflow.id)?.stage == .claimed)
        #expect(try await store.integrityCheck() == "ok")
    }

    @Test("every row writes and reads its dates through the store's own strategies, not GRDB's DateFormatter")
    func dateStrategies() throws {
        func isOurs(_ encoding: DatabaseDateEncodingStrategy, _ decoding: DatabaseDateDecodingStrategy) -> Bool {
            guard case .custom = encoding, case .custom = decoding else { return false }
            return true
        }
        #expect(isOurs(WorkflowRow.databaseDateEncodingStrategy(for: "created_at"), WorkflowRow.databaseDateDecodingStrategy(for: "created_at")))
        #expect(isOurs(EventRow.databaseDateEncodingStrategy(for: "at"), EventRow.databaseDateDecodingStrategy(for: "at")))
        #expect(isOurs(ResourceRow.databaseDateEncodingStrategy(for: "deleted_at"), ResourceRow.databaseDateDecodingStrategy(for: "deleted_at")))
        #expect(isOurs(AnswerRow.databaseDateEncodingStrategy(for: "at"), AnswerRow.databaseDateDecodingStrategy(for: "at")))
        #expect(
            isOurs(OutboxRow.databaseDateEncodingStrategy(for: "next_attempt_at"), OutboxRow.databaseDateDecodingStrategy(for: "next_attempt_at")))
        // Reading: our text, and GRDB's other forms through GRDB.
        let moment = Date(timeIntervalSince1970: 1_795_857_005.25)
        guard case .custom(let decode) = StoredDate.decoding else { return }
        #expect(decode("2026-11-28 09:10:05.250".databaseValue) == moment)
        #expect(decode("2026-11-28 09:10:05".databaseValue) == Date(timeIntervalSince1970: 1_795_857_005))
        #expect(decode("2026-11-28T09:10:05.250Z".databaseValue) == moment, "an ISO 8601 form GRDB reads itself")
        #expect(decode("not a date".databaseValue) == nil)
    }

    @Test("a database path that cannot be created is a clear store error naming it, not a crash")
    func unusablePath() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("missing/dir/s.sqlite")
        do {
            _ = try SQLiteWorkflowStore(path: path)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.hasPrefix("the workflow store failed: \(path)"))
        }
    }

    @Test("workflow ids are dated, unique and safe in file and AWS names")
    func ids() {
        let date = Date(timeIntervalSince1970: 1_795_000_000)
        let ids = (0..<1000).map { _ in WorkflowRecord.newID(at: date) }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { $0.hasPrefix("wf-20261118-") && $0.count == 20 && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" } })
    }

    @Test("a database written by the first schema is migrated in place and its workflows read back")
    func migratesFromV1() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("finetuned.sqlite")
        // The first schema exactly as it shipped, with one workflow and its event in it.
        let v1 = """
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('v1: workflows, events, resources, outbox');
            CREATE TABLE workflows (id TEXT PRIMARY KEY NOT NULL, profile TEXT NOT NULL, drop_name TEXT NOT NULL, sha256 TEXT,
              spool_path TEXT NOT NULL, stage TEXT NOT NULL, created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL, failure TEXT);
            CREATE INDEX workflows_by_stage ON workflows(stage);
            CREATE INDEX workflows_by_content ON workflows(sha256, profile);
            CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, workflow_id TEXT NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
              at DATETIME NOT NULL, stage TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL);
            CREATE INDEX events_by_workflow ON events(workflow_id, id);
            CREATE TABLE resources (id INTEGER PRIMARY KEY AUTOINCREMENT, workflow_id TEXT NOT NULL REFERENCES workflows(id),
              kind TEXT NOT NULL, identifier TEXT NOT NULL, client_token TEXT, created_at DATETIME NOT NULL, deleted_at DATETIME);
            CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, workflow_id TEXT REFERENCES workflows(id), created_at DATETIME NOT NULL,
              kind TEXT NOT NULL, payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at DATETIME,
              delivered_at DATETIME, given_up_at DATETIME, last_error TEXT);
            INSERT INTO workflows VALUES ('wf-20261101-00000001', 'summaries', 'old.jsonl', 'abc', '/spool/old.jsonl', 'validated',
              '2026-11-01 10:00:00.000', '2026-11-01 10:00:01.000', NULL);
            INSERT INTO events (workflow_id, at, stage, kind, message) VALUES ('wf-20261101-00000001', '2026-11-01 10:00:00.000', 'validated', 'created', 'old');
            """
        let created = try Command.run(
            "/usr/bin/python3", ["-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1]).executescript(sys.argv[2])", path, v1])
        try #require(created.status == 0, "\(created.stderr)")
        let store = try SQLiteWorkflowStore(path: path)
        let old = try #require(try await store.workflow(id: "wf-20261101-00000001"))
        #expect(old.stage == .validated && old.dropName == "old.jsonl" && old.context == WorkflowContext())
        #expect(try await store.events(workflowID: old.id).map(\.message) == ["old"])
        var context = old.context
        context.trainingDataURI = "s3://b/k"
        _ = try await store.advance(
            WorkflowStep(
                id: old.id, from: .validated, to: .uploaded, context: context, message: "uploaded",
                resources: [.created(ResourceRecord(workflowID: old.id, kind: .trainingData, identifier: "s3://b/k"))]))
        #expect(try await store.workflow(id: old.id)?.context.trainingDataURI == "s3://b/k")
        #expect(try await store.liveResources().first?.retained == false)
        #expect(try await store.integrityCheck() == "ok")
    }

    @Test("v5: an event kind the code no longer writes reads as note; resources a sweep recovered are marked from their old event text, once")
    func migratesToV5() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("finetuned.sqlite")
        // A v4 database, as the migrations up to v4 leave it, with rows a v4 daemon wrote.
        let queue = try DatabaseQueue(path: path)
        try StoreMigrations.migrator.migrate(queue, upTo: "v4: tokens per answer")
        let id = "wf-20261201-00000001"
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO workflows (id, profile, drop_name, sha256, spool_path, stage, created_at, updated_at)
                      VALUES (?, 'summaries', 'q.jsonl', 'abc', '/spool/q.jsonl', 'cleaning_up', '2026-12-01 10:00:00.000', '2026-12-01 10:05:00.000');
                    INSERT INTO events (workflow_id, at, stage, kind, message) VALUES
                      (?, '2026-12-01 10:00:00.000', 'claimed', 'created', 'claiming'),
                      (?, '2026-12-01 10:04:00.000', 'cleaning_up', 'debug_trace', 'a word no version writes now'),
                      (?, '2026-12-01 10:05:00.000', 'cleaning_up', 'transition',
                       'deleted provisioned throughput arn:tp/lost, created before an interruption; deleted custom model arn:model/ours');
                    INSERT INTO resources (workflow_id, kind, identifier, created_at, deleted_at, retained) VALUES
                      (?, 'throughput', 'arn:tp/lost', '2026-12-01 10:05:00.000', '2026-12-01 10:05:00.000', 0),
                      (?, 'custom_model', 'arn:model/ours', '2026-12-01 10:01:00.000', '2026-12-01 10:05:00.000', 0);
                    """, arguments: [id, id, id, id, id, id])
        }
        try queue.close()

        let store = try SQLiteWorkflowStore(path: path)
        #expect(try await store.events(workflowID: id).map(\.kind) == [.created, .note, .transition])
        let resources = try await store.resources(workflowID: id)
        #expect(resources.first { $0.identifier == "arn:tp/lost" }?.recovered == true)
        #expect(resources.first { $0.identifier == "arn:model/ours" }?.recovered == false, "deleted in the same step, but recorded when made")
        #expect(try await store.integrityCheck() == "ok")
    }

    @Test("event kinds are stored by raw values that never change")
    func eventKindsAreStable() {
        #expect(
            WorkflowEvent.Kind.allCases.map(\.rawValue)
                == ["created", "started", "transition", "resumed", "poll", "error", "janitor", "cancel", "retry", "note"])
    }
}
