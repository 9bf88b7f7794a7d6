import TOMLKit

/// A parsed TOML document as plain Sendable values.
///
/// TOMLKit's tables are reference types over a C++ tree and are not Sendable; the loader
/// copies the document into this enum once and never touches TOMLKit again.
public indirect enum ConfigNode: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    case array([ConfigNode])
    case table([String: ConfigNode])
    /// Dates and times: accepted by TOML, used by no setting of ours.
    case other(String)

    init(_ value: TOMLValueConvertible) {
        switch value.type {
        case .string: self = .string(value.string ?? "")
        case .int: self = .integer(value.int ?? 0)
        case .double: self = .float(value.double ?? 0)
        case .bool: self = .boolean(value.bool ?? false)
        case .array: self = .array((value.array.map { Array($0) } ?? []).map { ConfigNode($0) })
        case .table:
            var entries: [String: ConfigNode] = [:]
            if let table = value.table {
                for key in table.keys { if let child = table[key] { entries[key] = ConfigNode(child) } }
            }
            self = .table(entries)
        case .date, .time, .dateTime: self = .other(value.debugDescription)
        }
    }

    /// The word a person would use for this kind of value in an error message.
    var kindName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a number"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        case .other: "a date or time"
        }
    }

    /// The value as a scalar string, the way Bedrock wants hyperparameters.
    public var scalarText: String? {
        switch self {
        case .string(let s): s
        case .integer(let i): String(i)
        case .float(let d): String(d)
        case .boolean(let b): String(b)
        case .array, .table, .other: nil
        }
    }
}

extension ConfigNode {
    /// Parses TOML text; syntax errors come back with their line.
    static func parse(text: String, file: String) throws(ConfigurationError) -> [String: ConfigNode] {
        do {
            let table = try TOMLTable(string: text)
            guard case .table(let root) = ConfigNode(table) else { return [:] }
            return root
        } catch let error as TOMLParseError {
            throw ConfigurationError([
                ConfigurationDiagnostic(
                    file: file, line: error.source.begin.line,
                    message: "TOML syntax error: \(error.description) (column \(error.source.begin.column))")
            ])
        } catch {
            throw ConfigurationError([ConfigurationDiagnostic(file: file, line: nil, message: "\(error)")])
        }
    }
}
