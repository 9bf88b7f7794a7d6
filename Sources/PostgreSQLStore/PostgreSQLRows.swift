import FinetunedTime
import FinetunedWorkflow
import Foundation
import Logging
import Metrics
import PostgresNIO

/// One connection lent for a transaction or a read, with the few verbs the store uses.
struct PostgreSQLSession {
    let connection: PostgresConnection
    let logger: Logger
    /// The node whose events this session writes.
    let node: NodeID

    func run(_ query: PostgresQuery) async throws {
        _ = try await rows(query)
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: logger) { rows.append(row.makeRandomAccess()) }
        return rows
    }

    /// The workflow's row, locked until the transaction ends, if it is in `expected` (and, with
    /// a lease, if that lease is still the workflow's: one round trip for both checks).
    func locked(id: String, expecting expected: WorkflowStage, lease: WorkflowLease? = nil) async throws -> WorkflowRecord {
        guard let row = try await rows("SELECT * FROM workflows WHERE id = \(id) FOR UPDATE").first else { throw StoreError.notFound(id: id) }
        if let lease {
            let holder = try row.optionalText("lease_node"), epoch = try row.int("lease_epoch")
            guard holder == lease.node.rawValue, epoch == lease.epoch else {
                throw StoreError.leaseLost(lease, holder: holder.map { NodeID($0) }, epoch: epoch)
            }
        }
        let stage = try row.text("stage")
        guard stage == expected.rawValue else {
            throw StoreError.stageConflict(id: id, expected: expected, actual: WorkflowStage(rawValue: stage))
        }
        return try PostgreSQLWorkflowStore.workflow(row)
    }

    func appendEvent(_ e: WorkflowEvent) async throws {
        try await run(
            """
            INSERT INTO events (workflow_id, at, stage, kind, message, node)
            VALUES (\(e.workflowID), \(PostgreSQLWorkflowStore.text(e.at)), \(e.stage.rawValue), \(e.kind.rawValue), \(e.message),
            \((e.node ?? node).rawValue))
            """)
    }

    /// Refuses a runner's write once its lease is no longer the workflow's; the row stays
    /// locked until the transaction ends, so no take-over slips in between.
    func check(_ lease: WorkflowLease) async throws {
        guard let row = try await rows("SELECT lease_node, lease_epoch FROM workflows WHERE id = \(lease.workflowID) FOR UPDATE").first else {
            throw StoreError.notFound(id: lease.workflowID)
        }
        let holder = try row.optionalText("lease_node"), epoch = try row.int("lease_epoch")
        guard holder == lease.node.rawValue, epoch == lease.epoch else {
            throw StoreError.leaseLost(lease, holder: holder.map { NodeID($0) }, epoch: epoch)
        }
    }

    func insertOutbox(_ e: OutboxEntry) async throws -> Int64 {
        let t = PostgreSQLWorkflowStore.text
        let row = try await rows(
            """
            INSERT INTO outbox (workflow_id, channel, kind, payload, created_at, attempts, next_attempt_at, delivered_at, given_up_at, last_error)
            VALUES (\(e.workflowID), \(e.channel), \(e.kind), \(e.payload), \(t(e.createdAt)), \(e.attempts), \(e.nextAttemptAt.map(t)),
            \(e.deliveredAt.map(t)), \(e.givenUpAt.map(t)), \(e.lastError)) RETURNING id
            """)
        return try row[0].cell("id").decode(Int64.self)
    }
}

extension PostgresRandomAccessRow {
    func cell(_ column: String) throws -> PostgresCell {
        guard contains(column) else { throw StoreError.database("no column \(column) in the answer") }
        return self[column]
    }
    func text(_ column: String) throws -> String { try cell(column).decode(String.self) }
    func optionalText(_ column: String) throws -> String? { try cell(column).decode(String?.self) }
    func int(_ column: String) throws -> Int { Int(try cell(column).decode(Int64.self)) }
    func optionalInt(_ column: String) throws -> Int? { try cell(column).decode(Int64?.self).map(Int.init) }
}

extension PostgreSQLWorkflowStore {
    /// One transaction on a pooled connection, committed when `body` returns, rolled back when
    /// it throws; timed as SQLite's are (`finetuned_store_commit_seconds`).
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgreSQLSession) async throws -> T) async throws(StoreError) -> T {
        let started = ContinuousClock.now
        defer { Metrics.Timer(label: "finetuned_store_commit_seconds").record(duration: started.duration(to: .now)) }
        let logger = logger
        do {
            let node = node
            return try await client.withTransaction(logger: logger) { connection in
                try await body(PostgreSQLSession(connection: connection, logger: logger, node: node))
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    func connection<T: Sendable>(_ body: @escaping @Sendable (PostgreSQLSession) async throws -> T) async throws(StoreError) -> T {
        let logger = logger, node = node
        do {
            return try await client.withConnection { connection in
                try await body(PostgreSQLSession(connection: connection, logger: logger, node: node))
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A store error as it was thrown; anything else with PostgreSQL's own words (a `PSQLError`
    /// describes itself vaguely on purpose; its server message is what an operator needs).
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return .database("PostgreSQL: \(message)") }
            return .database("PostgreSQL: \(error.code)")
        }
        if let transaction = error as? PostgresTransactionError, let inner = transaction.closureError { return storeError(inner) }
        return .database("\(error)")
    }

    static func text(_ date: Date) -> String { UTCTime(date).databaseText }

    static func date(_ row: PostgresRandomAccessRow, _ column: String) throws -> Date {
        let text = try row.text(column)
        guard let date = UTCTime.date(databaseText: text) else { throw StoreError.database("\(column) '\(text)' is not a stored date") }
        return date
    }

    static func optionalDate(_ row: PostgresRandomAccessRow, _ column: String) throws -> Date? {
        try row.optionalText(column).map { text in
            guard let date = UTCTime.date(databaseText: text) else { throw StoreError.database("\(column) '\(text)' is not a stored date") }
            return date
        }
    }

    static func encode(_ context: WorkflowContext) -> String {
        // Encoding a struct of strings, numbers and dates cannot fail.
        String(decoding: try! JSONEncoder().encode(context), as: UTF8.self)
    }

    static func workflow(_ row: PostgresRandomAccessRow) throws -> WorkflowRecord {
        let id = try row.text("id"), stageText = try row.text("stage"), contextText = try row.text("context")
        guard let stage = WorkflowStage(rawValue: stageText) else {
            throw StoreError.database("workflow \(id) is in an unknown stage '\(stageText)' (written by a newer finetuned?)")
        }
        let context: WorkflowContext
        if contextText == "{}" {
            context = WorkflowContext()
        } else {
            do { context = try JSONDecoder().decode(WorkflowContext.self, from: Data(contextText.utf8)) } catch {
                throw StoreError.database("workflow \(id) has an unreadable context: \(error)")
            }
        }
        return WorkflowRecord(
            id: id, profile: try row.text("profile"), dropName: try row.text("drop_name"), sha256: try row.optionalText("sha256"),
            spoolPath: try row.text("spool_path"), stage: stage, createdAt: try date(row, "created_at"), updatedAt: try date(row, "updated_at"),
            failure: try row.optionalText("failure"), context: context, ownerUID: try row.optionalInt("owner_uid").flatMap { UInt32(exactly: $0) })
    }

    static func resource(_ row: PostgresRandomAccessRow) throws -> ResourceRecord? {
        guard let kind = ResourceRecord.Kind(rawValue: try row.text("kind")) else { return nil }
        return ResourceRecord(
            workflowID: try row.text("workflow_id"), kind: kind, identifier: try row.text("identifier"), name: try row.optionalText("name"),
            clientToken: try row.optionalText("client_token"), createdAt: try date(row, "created_at"), deletedAt: try optionalDate(row, "deleted_at"),
            retained: try row.cell("retained").decode(Bool.self), recovered: try row.cell("recovered").decode(Bool.self))
    }

    static func outbox(_ row: PostgresRandomAccessRow) throws -> OutboxEntry {
        OutboxEntry(
            id: try row.cell("id").decode(Int64.self), workflowID: try row.optionalText("workflow_id"), channel: try row.text("channel"),
            kind: try row.text("kind"), payload: try row.text("payload"), createdAt: try date(row, "created_at"), attempts: try row.int("attempts"),
            nextAttemptAt: try optionalDate(row, "next_attempt_at"), deliveredAt: try optionalDate(row, "delivered_at"),
            givenUpAt: try optionalDate(row, "given_up_at"), lastError: try row.optionalText("last_error"))
    }
}
