import FinetunedFaults
import FinetunedThreads
import Foundation
import GRDB
import Metrics

/// The default `WorkflowStore`: one SQLite file in the state directory, in WAL mode with
/// `synchronous = FULL`, so a committed transition survives a power cut.
public final class SQLiteWorkflowStore: WorkflowStore {
    let pool: DatabasePool
    public let path: String
    /// SQLite's calls block, so they run on threads of their own (GRDB's async API would
    /// use libdispatch's pool; see `SerialWorker`): one for writes, which SQLite serialises
    /// anyway, one for reads, which WAL lets run beside a write.
    private let writer = SerialWorker(name: "finetuned-db-w")
    private let reader = SerialWorker(name: "finetuned-db-r")
    public let node: NodeID
    /// One daemon per file (the state directory's lock sees to it).
    public var isShared: Bool { false }

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String, node: NodeID = "local") throws(StoreError) {
        self.path = path
        self.node = node
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        configuration.busyMode = .timeout(10)
        // Readers stay open: `releaseMemory()` then empties their caches in place on the
        // calling thread, where closing them would hand the work to libdispatch's pool (whose
        // monitor thread then wakes an idle daemon every second).
        configuration.persistentReadOnlyConnections = true
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try StoreMigrations.migrator.migrate(pool)
        } catch {
            throw .database("\(path): \(error)")
        }
    }

    /// SQLite's page and statement caches (up to 2 MiB of pages per connection) go, on the
    /// writer and on every reader connection.
    public func releaseMemory() async {
        let pool = pool
        try? await writer.run { pool.releaseMemory() }
    }

    /// `PRAGMA integrity_check`: "ok" for a sound database.
    public func integrityCheck() async throws(StoreError) -> String {
        try await read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }

    public func insert(_ workflow: WorkflowRecord, event: String) async throws(StoreError) {
        let event = Faults.current.reworded(event), node = node
        try await write { db in
            if try WorkflowRow.fetchOne(db, key: workflow.id) != nil { throw StoreError.duplicateID(workflow.id) }
            try WorkflowRow(workflow).insert(db)
            try db.execute(sql: "UPDATE workflows SET pinned_node = ? WHERE id = ?", arguments: [node.rawValue, workflow.id])
            try EventRow(
                WorkflowEvent(workflowID: workflow.id, at: workflow.createdAt, stage: workflow.stage, kind: .created, message: event), node: node
            )
            .insert(db)
        }
    }

    public func workflow(id: String) async throws(StoreError) -> WorkflowRecord? {
        try await read { db in try WorkflowRow.fetchOne(db, key: id)?.record }
    }

    public func transition(
        id: String, from expected: WorkflowStage, to next: WorkflowStage, event: String, failure: String?
    ) async throws(StoreError) -> WorkflowRecord {
        let faults = Faults.current, event = faults.reworded(event), failure = failure.map(faults.reworded), node = node
        return try await write { db in
            guard var row = try WorkflowRow.fetchOne(db, key: id) else { throw StoreError.notFound(id: id) }
            guard row.stage == expected.rawValue else {
                throw StoreError.stageConflict(id: id, expected: expected, actual: WorkflowStage(rawValue: row.stage))
            }
            let now = Date()
            row.stage = next.rawValue
            row.updatedAt = now
            if let failure { row.failure = failure }
            try row.update(db)
            try EventRow(
                WorkflowEvent(
                    workflowID: id, at: now, stage: next, kind: .transition,
                    message: "\(expected.rawValue) → \(next.rawValue): \(event)"), node: node
            ).insert(db)
            return try row.record
        }
    }

    public func advance(_ step: WorkflowStep) async throws(StoreError) -> WorkflowRecord {
        let faults = Faults.current, message = faults.reworded(step.message), failure = step.failure.map(faults.reworded)
        let node = node
        return try await write { db in
            guard var row = try WorkflowRow.fetchOne(db, key: step.id) else { throw StoreError.notFound(id: step.id) }
            if let lease = step.lease { try Self.check(lease, db) }
            guard row.stage == step.from.rawValue else {
                throw StoreError.stageConflict(id: step.id, expected: step.from, actual: WorkflowStage(rawValue: row.stage))
            }
            let now = step.at
            if let limit = step.admissionLimit {
                let started =
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workflows WHERE started_at IS NOT NULL AND stage NOT IN (\(Self.terminalList))")
                    ?? 0
                guard started < limit else { throw StoreError.admissionFull(limit: limit) }
                try db.execute(sql: "UPDATE workflows SET started_at = ? WHERE id = ?", arguments: [StoredDate.text(now), step.id])
            }
            switch step.pin {
            case .here: try db.execute(sql: "UPDATE workflows SET pinned_node = ? WHERE id = ?", arguments: [node.rawValue, step.id])
            case .anywhere: try db.execute(sql: "UPDATE workflows SET pinned_node = NULL WHERE id = ?", arguments: [step.id])
            case nil: break
            }
            if let plan = step.evaluationPlan {
                try db.execute(
                    sql:
                        "INSERT INTO evaluation_plans (workflow_id, plan) VALUES (?, ?) ON CONFLICT (workflow_id) DO UPDATE SET plan = excluded.plan",
                    arguments: [step.id, EvaluationPlanText.encode(plan)])
            }
            row.stage = step.to.rawValue
            row.updatedAt = now
            row.context = WorkflowRow.encode(step.context)
            if let failure { row.failure = failure }
            try row.update(db)
            let message = step.from == step.to ? message : "\(step.from.rawValue) → \(step.to.rawValue): \(message)"
            try EventRow(WorkflowEvent(workflowID: step.id, at: now, stage: step.to, kind: step.kind, message: message), node: node).insert(db)
            for change in step.resources {
                switch change {
                case .created(let resource):
                    try ResourceRow(resource).insert(db)
                case .deleted(let kind, let identifier):
                    try db.execute(
                        sql: "UPDATE resources SET deleted_at = ? WHERE kind = ? AND identifier = ? AND deleted_at IS NULL",
                        arguments: [StoredDate.text(now), kind.rawValue, identifier])
                case .retained(let kind, let identifier, let retained):
                    try db.execute(
                        sql: "UPDATE resources SET retained = ? WHERE kind = ? AND identifier = ?",
                        arguments: [retained, kind.rawValue, identifier])
                }
            }
            for entry in step.notifications {
                var outbox = OutboxRow(entry)
                try outbox.insert(db)
            }
            return try row.record
        }
    }

    public func resources(workflowID: String) async throws(StoreError) -> [ResourceRecord] {
        try await read { db in
            try ResourceRow.filter(Column("workflow_id") == workflowID).order(Column("id")).fetchAll(db).compactMap(\.record)
        }
    }

    public func liveResources(kind: ResourceRecord.Kind?) async throws(StoreError) -> [ResourceRecord] {
        try await read { db in
            var request = ResourceRow.filter(Column("deleted_at") == nil)
            if let kind { request = request.filter(Column("kind") == kind.rawValue) }
            return try request.order(Column("created_at"), Column("id")).fetchAll(db).compactMap(\.record)
        }
    }

    public func markResourceDeleted(kind: ResourceRecord.Kind, identifier: String, at date: Date) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE resources SET deleted_at = ? WHERE kind = ? AND identifier = ? AND deleted_at IS NULL",
                arguments: [StoredDate.text(date), kind.rawValue, identifier])
        }
    }

    public func saveAnswer(_ answer: InferenceAnswer, lease: WorkflowLease?) async throws(StoreError) {
        try await write { db in
            if let lease { try Self.check(lease, db) }
            try AnswerRow(answer).save(db)
        }
    }

    public func answers(workflowID: String) async throws(StoreError) -> [InferenceAnswer] {
        try await read { db in
            try AnswerRow.filter(Column("workflow_id") == workflowID).order(Column("model"), Column("prompt_index")).fetchAll(db).map(\.answer)
        }
    }

    public func enqueue(_ entries: [OutboxEntry]) async throws(StoreError) {
        try await write { db in
            for entry in entries {
                var row = OutboxRow(entry)
                try row.insert(db)
            }
        }
    }

    public func pendingNotifications() async throws(StoreError) -> [OutboxEntry] {
        try await read { db in
            try OutboxRow.filter(Column("delivered_at") == nil && Column("given_up_at") == nil)
                .order(Column("id")).fetchAll(db).map(\.entry)
        }
    }

    public func notifications(workflowID: String) async throws(StoreError) -> [OutboxEntry] {
        try await read { db in
            try OutboxRow.filter(Column("workflow_id") == workflowID).order(Column("id")).fetchAll(db).map(\.entry)
        }
    }

    public func updateNotification(_ entry: OutboxEntry) async throws(StoreError) {
        try await write { db in
            let row = OutboxRow(entry)
            try row.update(db)
        }
    }

    public func abandonClaim(id: String) async throws(StoreError) {
        try await write { db in
            guard let row = try WorkflowRow.fetchOne(db, key: id) else { return }
            guard row.stage == WorkflowStage.claiming.rawValue else {
                throw StoreError.stageConflict(id: id, expected: .claiming, actual: WorkflowStage(rawValue: row.stage))
            }
            try EventRow.filter(Column("workflow_id") == id).deleteAll(db)
            try WorkflowRow.deleteOne(db, key: id)
        }
    }

    public func workflows(in stages: Set<WorkflowStage>) async throws(StoreError) -> [WorkflowRecord] {
        try await read { db in
            try WorkflowRow.filter(stages.map(\.rawValue).contains(Column("stage")))
                .order(Column("created_at"), Column("id")).fetchAll(db).map { try $0.record }
        }
    }

    public func liveWorkflow(sha256: String, profile: String) async throws(StoreError) -> WorkflowRecord? {
        let terminal = WorkflowStage.allCases.filter(\.isTerminal).map(\.rawValue)
        return try await read { db in
            try WorkflowRow.filter(Column("sha256") == sha256 && Column("profile") == profile && !terminal.contains(Column("stage")))
                .order(Column("created_at")).fetchOne(db)?.record
        }
    }

    public func events(workflowID: String) async throws(StoreError) -> [WorkflowEvent] {
        try await read { db in
            try EventRow.filter(Column("workflow_id") == workflowID).order(Column("id")).fetchAll(db).compactMap(\.event)
        }
    }

    public func appendEvent(_ event: WorkflowEvent, lease: WorkflowLease?) async throws(StoreError) {
        var event = event
        event.message = Faults.current.reworded(event.message)
        let node = node
        try await write { [event] db in
            if let lease { try Self.check(lease, db) }
            try EventRow(event, node: node).insert(db)
        }
    }

    public func stageCounts() async throws(StoreError) -> [WorkflowStage: Int] {
        try await read { db in
            var counts: [WorkflowStage: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT stage, COUNT(*) AS n FROM workflows GROUP BY stage") {
                if let stage = WorkflowStage(rawValue: row["stage"]) { counts[stage] = row["n"] }
            }
            return counts
        }
    }

    public func recentWorkflows(limit: Int) async throws(StoreError) -> [WorkflowRecord] {
        try await read { db in
            try WorkflowRow.order(Column("updated_at").desc, Column("id").desc).limit(limit).fetchAll(db).map { try $0.record }
        }
    }

    public func recordLocation(id: String, path: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE workflows SET spool_path = ? WHERE id = ?", arguments: [path, id])
        }
    }

    public func recordDigest(id: String, sha256: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE workflows SET sha256 = ? WHERE id = ?", arguments: [sha256, id])
        }
    }

    /// One durable transaction, timed (`finetuned_store_commit_seconds`): a slow disk shows
    /// there before it shows as slow workflows.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            let pool = pool
            return try await writer.run {
                let started = ContinuousClock.now
                defer { Metrics.Timer(label: "finetuned_store_commit_seconds").record(duration: started.duration(to: .now)) }
                return try pool.write(body)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .database("\(error)")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            let pool = pool
            return try await reader.run { try pool.read(body) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .database("\(error)")
        }
    }
}
