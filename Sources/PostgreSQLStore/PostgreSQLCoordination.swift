import FinetunedWorkflow
import Foundation
import PostgresNIO

/// `StoreCoordination` on PostgreSQL, for daemons sharing one database. Times that decide
/// who may act (lease expiry, notification claims) are the server's clock
/// (`clock_timestamp()`), never a host's: nodes whose clocks disagree still agree on them.
extension PostgreSQLWorkflowStore {
    static let terminal = WorkflowStage.allCases.filter(\.isTerminal).map(\.rawValue)
    /// The advisory lock key of admissions and serving slots ("ftadm" in ASCII).
    static let admissionLock: Int64 = 0x66_74_61_64_6D
    /// Now, in Unix seconds, by the server's clock; spliced into the SQL (values stay binds).
    static let now = "EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION"

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    public func acquireLease(workflowID: String, duration: Duration, takeOver: Bool) async throws(StoreError) -> LeaseAttempt {
        let seconds = Self.seconds(duration)
        return try await transaction { db in
            // SKIP LOCKED: a node that finds the row locked by another node's take-over or
            // commit moves on instead of queueing behind it; it tries again at its next pass.
            // An operator's request waits for the lock instead.
            guard
                let row = try await db.rows(
                    """
                    SELECT lease_node, lease_epoch, pinned_node, lease_expires - \(unescaped: Self.now) AS remaining
                    FROM workflows WHERE id = \(workflowID) FOR UPDATE \(unescaped: takeOver ? "" : "SKIP LOCKED")
                    """
                ).first
            else {
                let exists = try await !db.rows("SELECT 1 FROM workflows WHERE id = \(workflowID)").isEmpty
                return exists ? LeaseAttempt.busy : .notFound
            }
            let holder = try row.optionalText("lease_node"), epoch = try row.int("lease_epoch")
            let remaining = try row.cell("remaining").decode(Double?.self)
            if let pinned = try row.optionalText("pinned_node"), pinned != db.node.rawValue { return .pinned(to: NodeID(pinned)) }
            if !takeOver, let holder, holder != db.node.rawValue, let remaining, remaining > 0 {
                return .held(by: NodeID(holder), expiresIn: remaining)
            }
            try await db.run(
                """
                UPDATE workflows SET lease_node = \(db.node.rawValue), lease_epoch = \(Int64(epoch + 1)),
                lease_expires = \(unescaped: Self.now) + \(seconds) WHERE id = \(workflowID)
                """)
            return .acquired(
                WorkflowLease(workflowID: workflowID, node: db.node, epoch: epoch + 1),
                from: holder.flatMap { $0 == db.node.rawValue ? nil : NodeID($0) })
        }
    }

    public func renewLeases(_ leases: [WorkflowLease], duration: Duration) async throws(StoreError) -> [WorkflowLease] {
        guard !leases.isEmpty else { return [] }
        let seconds = Self.seconds(duration)
        return try await transaction { db in
            var lost: [WorkflowLease] = []
            for lease in leases {
                let renewed = try await db.rows(
                    """
                    UPDATE workflows SET lease_expires = \(unescaped: Self.now) + \(seconds)
                    WHERE id = \(lease.workflowID) AND lease_node = \(lease.node.rawValue) AND lease_epoch = \(Int64(lease.epoch)) RETURNING id
                    """)
                if renewed.isEmpty { lost.append(lease) }
            }
            return lost
        }
    }

    public func releaseLease(_ lease: WorkflowLease) async throws(StoreError) {
        try await transaction { db in
            try await db.run(
                """
                UPDATE workflows SET lease_node = NULL, lease_expires = NULL
                WHERE id = \(lease.workflowID) AND lease_node = \(lease.node.rawValue) AND lease_epoch = \(Int64(lease.epoch))
                """)
        }
    }

    public func drivableWorkflows(in stages: Set<WorkflowStage>) async throws(StoreError) -> DrivableWorkflows {
        try await connection { db in
            let node = db.node.rawValue
            let rows = try await db.rows(
                """
                SELECT id, stage, started_at IS NOT NULL AS started FROM workflows
                WHERE stage = ANY(\(stages.map(\.rawValue))) AND (pinned_node IS NULL OR pinned_node = \(node))
                AND (lease_node IS NULL OR lease_node = \(node) OR lease_expires IS NULL OR lease_expires < \(unescaped: Self.now))
                ORDER BY created_at, id
                """)
            let started = try await db.rows(
                "SELECT COUNT(*) AS n FROM workflows WHERE started_at IS NOT NULL AND NOT (stage = ANY(\(Self.terminal)))")[0].int("n")
            return DrivableWorkflows(
                workflows: try rows.compactMap { row in
                    guard let stage = WorkflowStage(rawValue: try row.text("stage")) else { return nil }
                    return DrivableWorkflow(id: try row.text("id"), stage: stage, started: try row.cell("started").decode(Bool.self))
                }, started: started)
        }
    }

    public func driver(workflowID: String) async throws(StoreError) -> WorkflowDriver? {
        try await connection { db in
            try await db.rows(
                "SELECT lease_node, lease_epoch, pinned_node, lease_expires - \(unescaped: Self.now) AS remaining FROM workflows WHERE id = \(workflowID)"
            ).first.map { row in
                WorkflowDriver(
                    node: try row.optionalText("lease_node").map { NodeID($0) }, epoch: try row.int("lease_epoch"),
                    expiresIn: try row.cell("remaining").decode(Double?.self), pinnedTo: try row.optionalText("pinned_node").map { NodeID($0) })
            }
        }
    }

    public func heartbeat(version: String, startedAt: Date) async throws(StoreError) {
        try await transaction { db in
            try await db.run(
                """
                INSERT INTO nodes (id, version, started_at, heartbeat_at) VALUES (\(db.node.rawValue), \(version), \(Self.text(startedAt)), \(Self.text(Date())))
                ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at
                """)
        }
    }

    public func nodes() async throws(StoreError) -> [NodeRecord] {
        try await connection { db in
            try await db.rows(
                """
                SELECT n.id, n.version, n.started_at, n.heartbeat_at,
                (SELECT COUNT(*) FROM workflows w WHERE w.lease_node = n.id AND NOT (w.stage = ANY(\(Self.terminal)))) AS held
                FROM nodes n ORDER BY n.heartbeat_at DESC, n.id
                """
            ).map { row in
                NodeRecord(
                    id: NodeID(try row.text("id")), version: try row.text("version"), startedAt: try Self.date(row, "started_at"),
                    heartbeatAt: try Self.date(row, "heartbeat_at"), workflowsHeld: try row.int("held"))
            }
        }
    }

    public func reserveServing(_ kind: ResourceRecord.Kind, workflowID: String, limit: Int) async throws(StoreError) -> Bool {
        try await transaction { db in
            try await db.run("SELECT pg_advisory_xact_lock(\(Self.admissionLock))")
            let owners = Set(
                try await db.rows(
                    """
                    SELECT workflow_id FROM resources WHERE deleted_at IS NULL AND kind = \(kind.rawValue)
                    UNION SELECT s.workflow_id FROM serving_slots s JOIN workflows w ON w.id = s.workflow_id
                    WHERE s.kind = \(kind.rawValue) AND NOT (w.stage = ANY(\(Self.terminal)))
                    """
                ).map { try $0.text("workflow_id") })
            guard owners.contains(workflowID) || owners.count < limit else { return false }
            try await db.run(
                "INSERT INTO serving_slots (kind, workflow_id, node) VALUES (\(kind.rawValue), \(workflowID), \(db.node.rawValue)) ON CONFLICT DO NOTHING"
            )
            return true
        }
    }

    public func releaseServing(_ kind: ResourceRecord.Kind, workflowID: String) async throws(StoreError) {
        try await transaction { db in
            try await db.run("DELETE FROM serving_slots WHERE kind = \(kind.rawValue) AND workflow_id = \(workflowID)")
        }
    }

    public func claimNotification(id: Int64, duration: Duration) async throws(StoreError) -> OutboxEntry? {
        let seconds = Self.seconds(duration)
        return try await transaction { db in
            guard
                let row = try await db.rows(
                    """
                    SELECT * FROM outbox WHERE id = \(id) AND delivered_at IS NULL AND given_up_at IS NULL
                    AND (claimed_until IS NULL OR claimed_until < \(unescaped: Self.now) OR claimed_by = \(db.node.rawValue)) FOR UPDATE SKIP LOCKED
                    """
                ).first
            else { return nil }
            try await db.run(
                "UPDATE outbox SET claimed_by = \(db.node.rawValue), claimed_until = \(unescaped: Self.now) + \(seconds) WHERE id = \(id)")
            return try Self.outbox(row)
        }
    }

    /// Under a session advisory lock held on one connection for the job's length.
    public func exclusively(_ job: ExclusiveJob, _ body: @Sendable () async -> Void) async throws(StoreError) -> Bool {
        let logger = logger
        do {
            return try await client.withConnection { connection in
                let session = PostgreSQLSession(connection: connection, logger: logger, node: node)
                guard try await session.rows("SELECT pg_try_advisory_lock(\(job.lockKey)) AS held")[0].cell("held").decode(Bool.self) else {
                    return false
                }
                await body()
                try await session.run("SELECT pg_advisory_unlock(\(job.lockKey))")
                return true
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func evaluationPlan(workflowID: String) async throws(StoreError) -> EvaluationPlan? {
        try await connection { db in
            try await db.rows("SELECT plan FROM evaluation_plans WHERE workflow_id = \(workflowID)").first.map {
                try EvaluationPlanText.decode(try $0.text("plan"))
            }
        }
    }
}
