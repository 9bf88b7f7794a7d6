import FinetunedFaults
import FinetunedTime
import FinetunedWorkflow
import Foundation
import Logging
import PostgresNIO

/// The `WorkflowStore` on a PostgreSQL database (postgres-nio), for daemons that should not
/// keep their workflows in one host's file. The schema is `StoreSchema`'s, the same migrations
/// SQLite runs, recorded in `schema_migrations`; rows read exactly as SQLite's do (dates as the
/// same sortable text). Every change is one transaction; a transition locks its row
/// (`SELECT … FOR UPDATE`) and checks the stage it expects, as SQLite's single writer does.
///
/// The client's connection pool runs in `run()`, which its owner keeps running (a service of
/// the daemon's group, or a test's task) for as long as the store is used.
public final class PostgreSQLWorkflowStore: WorkflowStore {
    let client: PostgresClient
    let logger: Logger
    public let node: NodeID
    public var isShared: Bool { true }

    public init(configuration: PostgresClient.Configuration, node: NodeID, logger: Logger) {
        self.node = node
        var configuration = configuration
        // A few connections each: a step's transaction holds one for a few round trips, and
        // several daemons share the server's connection limit (100 by default).
        configuration.options.maximumConnections = 8
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Runs the connection pool until the task is cancelled.
    public func run() async { await client.run() }

    /// Applies the migrations the database lacks, each in a transaction with its record, under
    /// an advisory lock so two daemons starting at once do not both apply one. A database that
    /// records a migration this version does not know was written by a newer finetuned: refused.
    public func migrate() async throws(StoreError) {
        try await transaction { db in
            try await db.run("SELECT pg_advisory_xact_lock(\(Self.migrationLock))")
            try await db.run("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            let applied = Set(try await db.rows("SELECT id FROM schema_migrations").map { try $0.text("id") })
            let known = Set(StoreSchema.migrations.map(\.id))
            if let unknown = applied.subtracting(known).sorted().first {
                throw StoreError.database(
                    "the database has migration '\(unknown)', which this finetuned does not know: it was written by a newer version")
            }
            for migration in StoreSchema.migrations where !applied.contains(migration.id) {
                for statement in migration.postgresql { try await db.run(PostgresQuery(unsafeSQL: statement)) }
                try await db.run("INSERT INTO schema_migrations (id, applied_at) VALUES (\(migration.id), \(Self.text(Date())))")
            }
        }
    }

    /// The advisory lock key migrations hold ("ftmigr" in ASCII).
    static let migrationLock: Int64 = 0x66_74_6D_69_67_72

    public func insert(_ workflow: WorkflowRecord, event: String) async throws(StoreError) {
        let event = Faults.current.reworded(event)
        try await transaction { db in
            if try await !db.rows("SELECT 1 FROM workflows WHERE id = \(workflow.id)").isEmpty { throw StoreError.duplicateID(workflow.id) }
            try await db.run(
                """
                INSERT INTO workflows (id, profile, drop_name, sha256, spool_path, stage, created_at, updated_at, failure, context, owner_uid)
                VALUES (\(workflow.id), \(workflow.profile), \(workflow.dropName), \(workflow.sha256), \(workflow.spoolPath),
                \(workflow.stage.rawValue), \(Self.text(workflow.createdAt)), \(Self.text(workflow.updatedAt)), \(workflow.failure),
                \(Self.encode(workflow.context)), \(workflow.ownerUID.map(Int64.init)))
                """)
            try await db.run("UPDATE workflows SET pinned_node = \(db.node.rawValue) WHERE id = \(workflow.id)")
            try await db.appendEvent(
                WorkflowEvent(workflowID: workflow.id, at: workflow.createdAt, stage: workflow.stage, kind: .created, message: event))
        }
    }

    public func workflow(id: String) async throws(StoreError) -> WorkflowRecord? {
        try await connection { db in try await db.rows("SELECT * FROM workflows WHERE id = \(id)").first.map(Self.workflow) }
    }

    public func transition(
        id: String, from expected: WorkflowStage, to next: WorkflowStage, event: String, failure: String?
    ) async throws(StoreError) -> WorkflowRecord {
        let faults = Faults.current, event = faults.reworded(event), failure = failure.map(faults.reworded)
        return try await transaction { db in
            var record = try await db.locked(id: id, expecting: expected)
            let now = Date()
            record.stage = next
            record.updatedAt = now
            if let failure { record.failure = failure }
            try await db.run(
                "UPDATE workflows SET stage = \(next.rawValue), updated_at = \(Self.text(now)), failure = \(record.failure) WHERE id = \(id)")
            try await db.appendEvent(
                WorkflowEvent(workflowID: id, at: now, stage: next, kind: .transition, message: "\(expected.rawValue) → \(next.rawValue): \(event)"))
            return record
        }
    }

    public func advance(_ step: WorkflowStep) async throws(StoreError) -> WorkflowRecord {
        let faults = Faults.current, message = faults.reworded(step.message), failure = step.failure.map(faults.reworded)
        return try await transaction { db in
            var record = try await db.locked(id: step.id, expecting: step.from, lease: step.lease)
            let now = step.at
            if let limit = step.admissionLimit {
                // One admission at a time across the nodes: the count and the mark are one step.
                try await db.run("SELECT pg_advisory_xact_lock(\(Self.admissionLock))")
                let started = try await db.rows(
                    "SELECT COUNT(*) AS n FROM workflows WHERE started_at IS NOT NULL AND NOT (stage = ANY(\(Self.terminal)))")[0].int("n")
                guard started < limit else { throw StoreError.admissionFull(limit: limit) }
                try await db.run("UPDATE workflows SET started_at = \(Self.text(now)) WHERE id = \(step.id)")
            }
            switch step.pin {
            case .here: try await db.run("UPDATE workflows SET pinned_node = \(db.node.rawValue) WHERE id = \(step.id)")
            case .anywhere: try await db.run("UPDATE workflows SET pinned_node = NULL WHERE id = \(step.id)")
            case nil: break
            }
            if let plan = step.evaluationPlan {
                try await db.run(
                    """
                    INSERT INTO evaluation_plans (workflow_id, plan) VALUES (\(step.id), \(EvaluationPlanText.encode(plan)))
                    ON CONFLICT (workflow_id) DO UPDATE SET plan = EXCLUDED.plan
                    """)
            }
            record.stage = step.to
            record.updatedAt = now
            record.context = step.context
            if let failure { record.failure = failure }
            try await db.run(
                """
                UPDATE workflows SET stage = \(step.to.rawValue), updated_at = \(Self.text(now)), context = \(Self.encode(step.context)),
                failure = \(record.failure) WHERE id = \(step.id)
                """)
            let text = step.from == step.to ? message : "\(step.from.rawValue) → \(step.to.rawValue): \(message)"
            try await db.appendEvent(WorkflowEvent(workflowID: step.id, at: now, stage: step.to, kind: step.kind, message: text))
            for change in step.resources {
                switch change {
                case .created(let r):
                    try await db.run(
                        """
                        INSERT INTO resources (workflow_id, kind, identifier, name, client_token, created_at, deleted_at, retained, recovered)
                        VALUES (\(r.workflowID), \(r.kind.rawValue), \(r.identifier), \(r.name), \(r.clientToken), \(Self.text(r.createdAt)),
                        \(r.deletedAt.map(Self.text)), \(r.retained), \(r.recovered))
                        """)
                case .deleted(let kind, let identifier):
                    try await db.run(
                        "UPDATE resources SET deleted_at = \(Self.text(now)) WHERE kind = \(kind.rawValue) AND identifier = \(identifier) AND deleted_at IS NULL"
                    )
                case .retained(let kind, let identifier, let retained):
                    try await db.run("UPDATE resources SET retained = \(retained) WHERE kind = \(kind.rawValue) AND identifier = \(identifier)")
                }
            }
            for entry in step.notifications { _ = try await db.insertOutbox(entry) }
            return record
        }
    }

    public func resources(workflowID: String) async throws(StoreError) -> [ResourceRecord] {
        try await connection { db in
            try await db.rows("SELECT * FROM resources WHERE workflow_id = \(workflowID) ORDER BY id").compactMap(Self.resource)
        }
    }

    public func liveResources(kind: ResourceRecord.Kind?) async throws(StoreError) -> [ResourceRecord] {
        try await connection { db in
            let rows =
                if let kind {
                    try await db.rows("SELECT * FROM resources WHERE deleted_at IS NULL AND kind = \(kind.rawValue) ORDER BY created_at, id")
                } else {
                    try await db.rows("SELECT * FROM resources WHERE deleted_at IS NULL ORDER BY created_at, id")
                }
            return try rows.compactMap(Self.resource)
        }
    }

    public func markResourceDeleted(kind: ResourceRecord.Kind, identifier: String, at date: Date) async throws(StoreError) {
        try await transaction { db in
            try await db.run(
                "UPDATE resources SET deleted_at = \(Self.text(date)) WHERE kind = \(kind.rawValue) AND identifier = \(identifier) AND deleted_at IS NULL"
            )
        }
    }

    public func saveAnswer(_ a: InferenceAnswer, lease: WorkflowLease?) async throws(StoreError) {
        try await transaction { db in
            if let lease { try await db.check(lease) }
            try await db.run(
                """
                INSERT INTO inference_answers (workflow_id, model, prompt_index, output, failure, attempts, latency_seconds, input_tokens, output_tokens)
                VALUES (\(a.workflowID), \(a.model), \(a.index), \(a.output), \(a.failure), \(a.attempts), \(a.latencySeconds), \(a.inputTokens),
                \(a.outputTokens))
                ON CONFLICT (workflow_id, model, prompt_index) DO UPDATE SET output = EXCLUDED.output, failure = EXCLUDED.failure,
                attempts = EXCLUDED.attempts, latency_seconds = EXCLUDED.latency_seconds, input_tokens = EXCLUDED.input_tokens,
                output_tokens = EXCLUDED.output_tokens
                """)
        }
    }

    public func answers(workflowID: String) async throws(StoreError) -> [InferenceAnswer] {
        try await connection { db in
            try await db.rows("SELECT * FROM inference_answers WHERE workflow_id = \(workflowID) ORDER BY model, prompt_index").map { row in
                InferenceAnswer(
                    workflowID: try row.text("workflow_id"), model: try row.text("model"), index: try row.int("prompt_index"),
                    output: try row.optionalText("output"), failure: try row.optionalText("failure"), attempts: try row.int("attempts"),
                    latencySeconds: try row.cell("latency_seconds").decode(Double?.self), inputTokens: try row.optionalInt("input_tokens"),
                    outputTokens: try row.optionalInt("output_tokens"))
            }
        }
    }

    public func enqueue(_ entries: [OutboxEntry]) async throws(StoreError) {
        try await transaction { db in
            for entry in entries { _ = try await db.insertOutbox(entry) }
        }
    }

    public func pendingNotifications() async throws(StoreError) -> [OutboxEntry] {
        try await connection { db in
            try await db.rows("SELECT * FROM outbox WHERE delivered_at IS NULL AND given_up_at IS NULL ORDER BY id").map(Self.outbox)
        }
    }

    public func notifications(workflowID: String) async throws(StoreError) -> [OutboxEntry] {
        try await connection { db in try await db.rows("SELECT * FROM outbox WHERE workflow_id = \(workflowID) ORDER BY id").map(Self.outbox) }
    }

    public func updateNotification(_ e: OutboxEntry) async throws(StoreError) {
        guard let id = e.id else { throw .database("an outbox entry without an id cannot be updated") }
        try await transaction { db in
            try await db.run(
                """
                UPDATE outbox SET workflow_id = \(e.workflowID), channel = \(e.channel), kind = \(e.kind), payload = \(e.payload),
                created_at = \(Self.text(e.createdAt)), attempts = \(e.attempts), next_attempt_at = \(e.nextAttemptAt.map(Self.text)),
                delivered_at = \(e.deliveredAt.map(Self.text)), given_up_at = \(e.givenUpAt.map(Self.text)), last_error = \(e.lastError)
                WHERE id = \(id)
                """)
        }
    }

    public func abandonClaim(id: String) async throws(StoreError) {
        try await transaction { db in
            guard let row = try await db.rows("SELECT stage FROM workflows WHERE id = \(id) FOR UPDATE").first else { return }
            let stage = try row.text("stage")
            guard stage == WorkflowStage.claiming.rawValue else {
                throw StoreError.stageConflict(id: id, expected: .claiming, actual: WorkflowStage(rawValue: stage))
            }
            try await db.run("DELETE FROM events WHERE workflow_id = \(id)")
            try await db.run("DELETE FROM workflows WHERE id = \(id)")
        }
    }

    public func workflows(in stages: Set<WorkflowStage>) async throws(StoreError) -> [WorkflowRecord] {
        try await connection { db in
            try await db.rows("SELECT * FROM workflows WHERE stage = ANY(\(stages.map(\.rawValue))) ORDER BY created_at, id").map(Self.workflow)
        }
    }

    public func liveWorkflow(sha256: String, profile: String) async throws(StoreError) -> WorkflowRecord? {
        let terminal = WorkflowStage.allCases.filter(\.isTerminal).map(\.rawValue)
        return try await connection { db in
            try await db.rows(
                """
                SELECT * FROM workflows WHERE sha256 = \(sha256) AND profile = \(profile) AND NOT (stage = ANY(\(terminal)))
                ORDER BY created_at LIMIT 1
                """
            ).first.map(Self.workflow)
        }
    }

    public func events(workflowID: String) async throws(StoreError) -> [WorkflowEvent] {
        try await connection { db in
            try await db.rows("SELECT * FROM events WHERE workflow_id = \(workflowID) ORDER BY id").compactMap { row -> WorkflowEvent? in
                guard let stage = WorkflowStage(rawValue: try row.text("stage")) else { return nil }
                return WorkflowEvent(
                    workflowID: workflowID, at: try Self.date(row, "at"), stage: stage,
                    kind: WorkflowEvent.Kind(rawValue: try row.text("kind")) ?? .note, message: try row.text("message"),
                    node: try row.optionalText("node").map { NodeID($0) })
            }
        }
    }

    public func appendEvent(_ event: WorkflowEvent, lease: WorkflowLease?) async throws(StoreError) {
        var event = event
        event.message = Faults.current.reworded(event.message)
        try await transaction { [event] db in
            if let lease { try await db.check(lease) }
            try await db.appendEvent(event)
        }
    }

    public func stageCounts() async throws(StoreError) -> [WorkflowStage: Int] {
        try await connection { db in
            var counts: [WorkflowStage: Int] = [:]
            for row in try await db.rows("SELECT stage, COUNT(*) AS n FROM workflows GROUP BY stage") {
                if let stage = WorkflowStage(rawValue: try row.text("stage")) { counts[stage] = try row.int("n") }
            }
            return counts
        }
    }

    public func recentWorkflows(limit: Int) async throws(StoreError) -> [WorkflowRecord] {
        try await connection { db in
            try await db.rows("SELECT * FROM workflows ORDER BY updated_at DESC, id DESC LIMIT \(limit)").map(Self.workflow)
        }
    }

    public func recordLocation(id: String, path: String) async throws(StoreError) {
        try await transaction { db in try await db.run("UPDATE workflows SET spool_path = \(path) WHERE id = \(id)") }
    }

    public func recordDigest(id: String, sha256: String) async throws(StoreError) {
        try await transaction { db in try await db.run("UPDATE workflows SET sha256 = \(sha256) WHERE id = \(id)") }
    }
}
