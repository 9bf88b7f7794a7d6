/// One finding about a training file, located like a compiler diagnostic.
public struct ValidationProblem: Sendable, Equatable, Codable {
    public enum Severity: String, Sendable, Codable { case error, warning }

    public var severity: Severity
    public var kind: ProblemKind
    /// 1-based line; 0 for problems of the whole file.
    public var line: Int
    /// 1-based byte column within the line; 0 when not applicable.
    public var column: Int
    public var message: String

    public init(_ severity: Severity, _ kind: ProblemKind, line: Int, column: Int = 0, _ message: String) {
        self.severity = severity
        self.kind = kind
        self.line = line
        self.column = column
        self.message = message
    }

    /// `q3.jsonl:87:12: error: …`
    public func formatted(file: String) -> String {
        let location = line == 0 ? file : column == 0 ? "\(file):\(line)" : "\(file):\(line):\(column)"
        return "\(location): \(severity.rawValue): \(message)"
    }
}

/// What went wrong, as a stable identifier: problems are counted by kind for the summary's
/// "most frequent problems", and machines can match on it.
public enum ProblemKind: String, Sendable, Codable, CaseIterable {
    case byteOrderMark = "byte_order_mark"
    case invalidUTF8 = "invalid_utf8"
    case invalidJSON = "invalid_json"
    case notAnObject = "not_an_object"
    case blankLine = "blank_line"
    case lineTooLong = "line_too_long"
    case tooDeep = "too_deep"
    case duplicateKey = "duplicate_key"
    case missingField = "missing_field"
    case wrongType = "wrong_type"
    case emptyText = "empty_text"
    case unknownField = "unknown_field"
    case schemaVersion = "schema_version"
    case roleOrder = "role_order"
    case reservedString = "reserved_string"
    case media = "media"
    case inputTooLong = "input_over_token_limit"
    case outputTooLong = "output_over_token_limit"
    case totalTooLong = "total_over_token_limit"
    case duplicateRecord = "duplicate_record"
    case tooFewRecords = "too_few_records"
    case tooManyRecords = "too_many_records"
    case fileTooLarge = "file_too_large"
    case hyperparameter = "hyperparameter"
    case endOfLife = "model_end_of_life"
    case adapterCheck = "adapter_check"
    case fileChanged = "file_changed"
    case unreadable = "unreadable"

    /// How the summary names the kind.
    public var title: String {
        switch self {
        case .byteOrderMark: "UTF-8 byte order mark"
        case .invalidUTF8: "invalid UTF-8"
        case .invalidJSON: "invalid JSON"
        case .notAnObject: "line is not a JSON object"
        case .blankLine: "blank line"
        case .lineTooLong: "line too long"
        case .tooDeep: "nesting too deep"
        case .duplicateKey: "duplicate key"
        case .missingField: "missing field"
        case .wrongType: "wrong JSON type"
        case .emptyText: "empty text"
        case .unknownField: "unknown field"
        case .schemaVersion: "wrong schemaVersion"
        case .reservedString: "reserved string"
        case .media: "media block"
        case .roleOrder: "conversation role order"
        case .inputTooLong: "input over the token limit"
        case .outputTooLong: "output over the token limit"
        case .totalTooLong: "input + output over the token limit"
        case .duplicateRecord: "duplicate record"
        case .tooFewRecords: "too few records"
        case .tooManyRecords: "too many records"
        case .fileTooLarge: "file too large"
        case .hyperparameter: "hyperparameter"
        case .endOfLife: "base model at end of life"
        case .adapterCheck: "adapter check"
        case .fileChanged: "file changed while being read"
        case .unreadable: "unreadable file"
        }
    }
}
