import GRDB

/// A cell as both engines hold it: what a store copy (`finetunectl store migrate`) carries and
/// compares. Booleans are integers here, as SQLite keeps them.
public enum StoreValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// One unambiguous line per value: what the copy's digest is computed over.
    public var description: String {
        switch self {
        case .null: "N"
        case .integer(let i): "I\(i)"
        case .real(let d): "R\(d.bitPattern)"
        case .text(let s): "T\(s.utf8.count):\(s)"
        }
    }
}

/// One table's rows in key order.
public struct StoreTable: Sendable, Equatable {
    public var name: String
    public var columns: [String]
    public var rows: [[StoreValue]]

    public init(name: String, columns: [String], rows: [[StoreValue]]) {
        self.name = name
        self.columns = columns
        self.rows = rows
    }
}

extension StoreSchema {
    /// What a copy carries, parents before children, each with the key it is ordered by.
    /// Serving slots are not carried: they belong to runners, and none runs during a copy.
    public static let copiedTables: [(name: String, key: String)] = [
        ("workflows", "id"), ("events", "id"), ("resources", "id"), ("inference_answers", "workflow_id, model, prompt_index"),
        ("outbox", "id"), ("evaluation_plans", "workflow_id"), ("nodes", "id"),
    ]
}

extension SQLiteWorkflowStore {
    /// Every row of `name`, ordered by `key`, with its columns as the schema declares them.
    public func table(_ name: String, key: String) async throws(StoreError) -> StoreTable {
        guard StoreSchema.copiedTables.contains(where: { $0.name == name && $0.key == key }) else {
            throw .database("'\(name)' is not a table a copy carries")
        }
        return try await read { db in
            let columns = try db.columns(in: name).map(\.name)
            let rows = try Row.fetchAll(db, sql: "SELECT \(columns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \"\(name)\" ORDER BY \(key)")
                .map { row in
                    columns.indices.map { index -> StoreValue in
                        switch row[index] as DatabaseValue {
                        case let value where value.isNull: .null
                        case let value:
                            switch value.storage {
                            case .int64(let i): .integer(i)
                            case .double(let d): .real(d)
                            case .string(let s): .text(s)
                            case .blob(let b): .text(String(decoding: b, as: UTF8.self))
                            case .null: .null
                            }
                        }
                    }
                }
            return StoreTable(name: name, columns: columns, rows: rows)
        }
    }
}
