import FinetunedWorkflow
import Foundation
import PostgresNIO

/// Moves a daemon's SQLite store into an empty PostgreSQL database (`finetunectl store
/// migrate`): every table a store holds, row for row, in one transaction, then read back and
/// compared with the source value by value. Leases are dropped (no runner holds one while the
/// daemon is stopped) and the workflows pinned to the old node are pinned to `node`, the id
/// the daemon will have on PostgreSQL: their drops are in this host's spool.
public enum StoreCopy {
    public struct Report: Sendable {
        /// Rows copied and verified, per table, in copy order.
        public var rows: [(table: String, count: Int)]
    }

    public static func copy(from source: SQLiteWorkflowStore, to target: PostgreSQLWorkflowStore, node: NodeID) async throws(StoreError) -> Report {
        try await target.migrate()
        var tables: [StoreTable] = []
        for (name, key) in StoreSchema.copiedTables {
            tables.append(repinned(try await source.table(name, key: key), to: node))
        }
        let expected = tables
        try await target.transaction { db in
            for table in expected {
                let count = try await db.rows("SELECT COUNT(*) AS n FROM \(unescaped: table.name)")[0].int("n")
                guard count == 0 else {
                    throw StoreError.database(
                        "the database already holds \(count) rows in \(table.name): a store is copied only into an empty database")
                }
            }
            for table in expected {
                let types = try await db.columnTypes(table.name)
                for column in table.columns where types[column] == nil {
                    throw StoreError.database("\(table.name).\(column) is not in the PostgreSQL schema")
                }
                let sql =
                    "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES ("
                    + table.columns.indices.map { "$\($0 + 1)" }.joined(separator: ", ") + ")"
                for row in table.rows {
                    var binds = PostgresBindings()
                    for (column, value) in zip(table.columns, row) {
                        try bind(value, as: types[column]!, column: "\(table.name).\(column)", into: &binds)
                    }
                    try await db.run(PostgresQuery(unsafeSQL: sql, binds: binds))
                }
                if table.columns.contains("id"), types["id"] == "bigint" {
                    // Identity columns go on from the highest copied id.
                    try await db.run(
                        "SELECT setval(pg_get_serial_sequence(\(table.name), 'id'), COALESCE((SELECT MAX(id) FROM \(unescaped: table.name)), 0) + 1, false)"
                    )
                }
            }
        }
        // Read back after the commit, as the daemon will read it, and compare value by value.
        for table in expected {
            let copied = try await target.connection { db in
                try await db.table(table.name, columns: table.columns, key: StoreSchema.copiedTables.first { $0.name == table.name }!.key)
            }
            guard copied.rows.count == table.rows.count else {
                throw StoreError.database("\(table.name): \(table.rows.count) rows copied, \(copied.rows.count) read back")
            }
            for (index, pair) in zip(table.rows, copied.rows).enumerated() where pair.0 != pair.1 {
                throw StoreError.database("\(table.name): row \(index + 1) reads back as \(pair.1), not \(pair.0)")
            }
        }
        return Report(rows: expected.map { ($0.name, $0.rows.count) })
    }

    /// No runner holds a lease across a copy; pins name the node the workflows will run on.
    static func repinned(_ table: StoreTable, to node: NodeID) -> StoreTable {
        guard table.name == "workflows" else { return table }
        var table = table
        let lease = ["lease_node", "lease_expires"].compactMap { table.columns.firstIndex(of: $0) }
        let pin = table.columns.firstIndex(of: "pinned_node")
        for r in table.rows.indices {
            for index in lease { table.rows[r][index] = .null }
            if let pin, table.rows[r][pin] != .null { table.rows[r][pin] = .text(node.rawValue) }
        }
        return table
    }

    static func bind(_ value: StoreValue, as type: String, column: String, into binds: inout PostgresBindings) throws {
        switch (value, type) {
        case (.null, _): binds.appendNull()
        case (.integer(let i), "bigint"): binds.append(i)
        case (.integer(let i), "boolean"): binds.append(i != 0)
        case (.integer(let i), "double precision"): binds.append(Double(i))
        case (.real(let d), "double precision"): binds.append(d)
        case (.text(let s), "text"): binds.append(s)
        default: throw StoreError.database("\(column): cannot store \(value) as \(type)")
        }
    }
}

extension PostgreSQLSession {
    /// Column name → data type (`bigint`, `text`, …) of a table in the current schema.
    func columnTypes(_ table: String) async throws -> [String: String] {
        var types: [String: String] = [:]
        for row in try await rows(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = \(table)")
        {
            types[try row.text("column_name")] = try row.text("data_type")
        }
        return types
    }

    /// A table's rows in key order as `StoreValue`s; booleans read as 0 and 1, as SQLite has them.
    func table(_ name: String, columns: [String], key: String) async throws -> StoreTable {
        let types = try await columnTypes(name)
        let rows = try await rows(PostgresQuery(unsafeSQL: "SELECT \(columns.joined(separator: ", ")) FROM \(name) ORDER BY \(key)"))
        return StoreTable(
            name: name, columns: columns,
            rows: try rows.map { row in
                try columns.map { column -> StoreValue in
                    let cell = try row.cell(column)
                    switch types[column] {
                    case "bigint": return try cell.decode(Int64?.self).map { .integer($0) } ?? .null
                    case "boolean": return try cell.decode(Bool?.self).map { .integer($0 ? 1 : 0) } ?? .null
                    case "double precision": return try cell.decode(Double?.self).map { .real($0) } ?? .null
                    default: return try cell.decode(String?.self).map { .text($0) } ?? .null
                    }
                }
            })
    }
}
