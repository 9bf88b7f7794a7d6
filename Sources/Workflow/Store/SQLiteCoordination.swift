import FinetunedTime
import Foundation
import GRDB

/// `StoreCoordination` on SQLite: one node, whose leases fence its own previous life (a
/// runner that outlived a restart cannot commit) and never expire; pins and claims are
/// recorded as on PostgreSQL, so a store moved there (`finetunectl store migrate`) keeps them.
extension SQLiteWorkflowStore {
    /// The terminal stages as an SQL list.
    static let terminalList = WorkflowStage.allCases.filter(\.isTerminal).map { "'\($0.rawValue)'" }.joined(separator: ", ")

    /// Refuses a runner's write once its lease is no longer the workflow's.
    static func check(_ lease: WorkflowLease, _ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: "SELECT lease_node, lease_epoch FROM workflows WHERE id = ?", arguments: [lease.workflowID])
        else { throw StoreError.notFound(id: lease.workflowID) }
        let holder: String? = row["lease_node"]
        let epoch: Int = row["lease_epoch"]
        guard holder == lease.node.rawValue, epoch == lease.epoch else {
            throw StoreError.leaseLost(lease, holder: holder.map { NodeID($0) }, epoch: epoch)
        }
    }

    public func acquireLease(workflowID: String, duration: Duration, takeOver: Bool) async throws(StoreError) -> LeaseAttempt {
        let node = node
        return try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT lease_node, lease_epoch FROM workflows WHERE id = ?", arguments: [workflowID])
            else { return .notFound }
            let previous: String? = row["lease_node"]
            let epoch: Int = row["lease_epoch"] + 1
            try db.execute(
                sql: "UPDATE workflows SET lease_node = ?, lease_epoch = ?, lease_expires = NULL WHERE id = ?",
                arguments: [node.rawValue, epoch, workflowID])
            return .acquired(
                WorkflowLease(workflowID: workflowID, node: node, epoch: epoch),
                from: previous.flatMap { $0 == node.rawValue ? nil : NodeID($0) })
        }
    }

    public func renewLeases(_ leases: [WorkflowLease], duration: Duration) async throws(StoreError) -> [WorkflowLease] {
        try await write { db in
            try leases.filter { lease in
                do {
                    try Self.check(lease, db)
                    return false
                } catch is StoreError { return true }
            }
        }
    }

    public func releaseLease(_ lease: WorkflowLease) async throws(StoreError) {
        try await write { db in
            try db.execute(
                sql: "UPDATE workflows SET lease_node = NULL, lease_expires = NULL WHERE id = ? AND lease_node = ? AND lease_epoch = ?",
                arguments: [lease.workflowID, lease.node.rawValue, lease.epoch])
        }
    }

    public func drivableWorkflows(in stages: Set<WorkflowStage>) async throws(StoreError) -> DrivableWorkflows {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT id, stage, started_at IS NOT NULL AS started FROM workflows WHERE stage IN (\(stages.map { "'\($0.rawValue)'" }.joined(separator: ", "))) ORDER BY created_at, id"
            )
            let started =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM workflows WHERE started_at IS NOT NULL AND stage NOT IN (\(Self.terminalList))") ?? 0
            return DrivableWorkflows(
                workflows: rows.compactMap { row in
                    WorkflowStage(rawValue: row["stage"]).map { DrivableWorkflow(id: row["id"], stage: $0, started: row["started"]) }
                }, started: started)
        }
    }

    public func driver(workflowID: String) async throws(StoreError) -> WorkflowDriver? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT lease_node, lease_epoch, pinned_node FROM workflows WHERE id = ?", arguments: [workflowID]).map {
                WorkflowDriver(
                    node: ($0["lease_node"] as String?).map { NodeID($0) }, epoch: $0["lease_epoch"], expiresIn: nil,
                    pinnedTo: ($0["pinned_node"] as String?).map { NodeID($0) })
            }
        }
    }

    public func heartbeat(version: String, startedAt: Date) async throws(StoreError) {
        let node = node
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO nodes (id, version, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at
                    """, arguments: [node.rawValue, version, StoredDate.text(startedAt), StoredDate.text(Date())])
        }
    }

    public func nodes() async throws(StoreError) -> [NodeRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT n.id, n.version, n.started_at, n.heartbeat_at,
                    (SELECT COUNT(*) FROM workflows w WHERE w.lease_node = n.id AND w.stage NOT IN (\(Self.terminalList))) AS held
                    FROM nodes n ORDER BY n.heartbeat_at DESC, n.id
                    """
            ).map { row in
                NodeRecord(
                    id: NodeID(row["id"]), version: row["version"], startedAt: try Self.date(row["started_at"]),
                    heartbeatAt: try Self.date(row["heartbeat_at"]), workflowsHeld: row["held"])
            }
        }
    }

    static func date(_ text: String) throws -> Date {
        guard let date = UTCTime.date(databaseText: text) else { throw StoreError.database("unreadable date '\(text)'") }
        return date
    }

    public func reserveServing(_ kind: ResourceRecord.Kind, workflowID: String, limit: Int) async throws(StoreError) -> Bool {
        let node = node
        return try await write { db in
            let owners = Set(
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT workflow_id FROM resources WHERE deleted_at IS NULL AND kind = ?
                        UNION SELECT s.workflow_id FROM serving_slots s JOIN workflows w ON w.id = s.workflow_id
                        WHERE s.kind = ? AND w.stage NOT IN (\(Self.terminalList))
                        """, arguments: [kind.rawValue, kind.rawValue]))
            guard owners.contains(workflowID) || owners.count < limit else { return false }
            try db.execute(
                sql: "INSERT INTO serving_slots (kind, workflow_id, node) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [kind.rawValue, workflowID, node.rawValue])
            return true
        }
    }

    public func releaseServing(_ kind: ResourceRecord.Kind, workflowID: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "DELETE FROM serving_slots WHERE kind = ? AND workflow_id = ?", arguments: [kind.rawValue, workflowID])
        }
    }

    public func claimNotification(id: Int64, duration: Duration) async throws(StoreError) -> OutboxEntry? {
        let node = node
        return try await write { db in
            let now = Date().timeIntervalSince1970
            guard
                var row = try OutboxRow.fetchOne(
                    db,
                    sql:
                        "SELECT * FROM outbox WHERE id = ? AND delivered_at IS NULL AND given_up_at IS NULL AND (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?)",
                    arguments: [id, now, node.rawValue])
            else { return nil }
            try db.execute(
                sql: "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ?",
                arguments: [node.rawValue, now + Double(duration.components.seconds), id])
            row.id = id
            return row.entry
        }
    }

    /// One node: nobody else runs it.
    public func exclusively(_ job: ExclusiveJob, _ body: @Sendable () async -> Void) async throws(StoreError) -> Bool {
        await body()
        return true
    }

    public func evaluationPlan(workflowID: String) async throws(StoreError) -> EvaluationPlan? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT plan FROM evaluation_plans WHERE workflow_id = ?", arguments: [workflowID]).map(
                EvaluationPlanText.decode)
        }
    }
}

/// The stored form of an evaluation plan, on both engines: JSON, as the context is.
public enum EvaluationPlanText {
    public static func encode(_ plan: EvaluationPlan) -> String {
        // Strings and numbers only: encoding cannot fail.
        String(decoding: try! JSONEncoder().encode(plan), as: UTF8.self)
    }

    public static func decode(_ text: String) throws(StoreError) -> EvaluationPlan {
        do { return try JSONDecoder().decode(EvaluationPlan.self, from: Data(text.utf8)) } catch {
            throw StoreError.database("an unreadable evaluation plan: \(error)")
        }
    }
}
