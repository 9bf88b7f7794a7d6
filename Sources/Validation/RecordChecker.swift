import AdapterKit

/// Checks one line against the record schema and yields its character counts.
///
/// Problems go to `report`; the first structural error ends the line (what follows a syntax
/// error means nothing), while schema problems (a missing field, an empty prompt) are all
/// reported.
struct RecordChecker {
    let schema: RecordSchema
    /// The training data's bucket, when known (media must be in it).
    var dataBucket: String?
    /// Field names as bytes, compared against raw keys without decoding them.
    private let fieldNames: [[UInt8]]

    /// Distillation: answers are optional (the output fields of a record, the last assistant turn).
    var answerOptional = false

    var singleTurn = false

    init(schema: RecordSchema, dataBucket: String? = nil, answerOptional: Bool = false, singleTurn: Bool = false) {
        self.singleTurn = singleTurn
        var schema = schema
        if answerOptional {
            schema.fields = schema.fields.map { field in
                var f = field
                if f.countsAs == .output {
                    f.required = false
                    f.nonEmpty = false
                }
                return f
            }
        }
        self.answerOptional = answerOptional
        self.schema = schema
        self.dataBucket = dataBucket
        fieldNames = schema.fields.map { Array($0.name.utf8) }
    }

    struct Counts {
        var inputCharacters = 0
        var outputCharacters = 0
        /// Media blocks in the record: a file holds images or videos, never both.
        var images = 0
        var videos = 0
    }

    /// A problem at a byte offset within the line.
    typealias Report = (ValidationProblem.Severity, ProblemKind, Int, String) -> Void

    /// Returns the counts, or nil when the line is not a valid record.
    func check(_ line: UnsafeBufferPointer<UInt8>, report: Report) -> Counts? {
        var scanner = ByteScanner(line)
        do throws(ByteScanner.Failure) {
            scanner.skipWhitespace()
            guard let first = scanner.peek() else { return nil }
            guard first == 0x7B else {
                let kind = scanner.kindOfNextValue()
                if kind == "something else" || kind == "nothing" { throw scanner.unexpected(expected: "a JSON object") }
                report(.error, .notAnObject, scanner.i, "the line is \(kind), not a JSON object")
                return nil
            }
            let counts: Counts
            switch schema.format {
            case .fields: counts = try checkFields(&scanner, report: report)
            case .conversation:
                counts = try ConversationChecker(
                    schema: schema.conversation!, dataBucket: dataBucket, answerOptional: answerOptional,
                    singleTurn: singleTurn
                ).check(&scanner, report: report)
            }
            scanner.skipWhitespace()
            guard scanner.atEnd else { throw scanner.fail("unexpected data after the JSON object") }
            return counts
        } catch {
            report(.error, error.kind, error.offset, error.message)
            return nil
        }
    }

    private func checkFields(_ s: inout ByteScanner, report: Report) throws(ByteScanner.Failure) -> Counts {
        var counts = Counts()
        var seen: UInt64 = 0
        var keys = KeyRanges()
        s.i += 1
        if s.peek() == 0x7D {
            s.i += 1
        } else {
            while true {
                s.skipWhitespace()
                guard !s.atEnd, s.current == 0x22 else { throw s.unexpected(expected: "a string key") }
                let keyOffset = s.i
                let key = try s.scanString()
                if keys.contains(where: { Self.equal(s, $0, (key.start, key.end)) }) {
                    report(.error, .duplicateKey, keyOffset, "duplicate key \"\(s.decode(key))\" (which value Bedrock would use is undefined)")
                }
                keys.append((key.start, key.end))
                try s.expect(0x3A, "':'")
                s.skipWhitespace()
                let valueOffset = s.i
                if let index = fieldIndex(s, key) {
                    let field = schema.fields[index]
                    seen |= 1 << UInt64(index & 63)
                    try checkFieldValue(field, &s, at: valueOffset, counts: &counts, report: report)
                } else {
                    report(.warning, .unknownField, keyOffset, "unknown field \"\(s.decode(key))\" (Bedrock ignores it)")
                    try s.skipValue(depth: 1)
                }
                guard let next = s.peek() else { throw s.fail("unexpected end of line inside the object") }
                s.i += 1
                if next == 0x2C { continue }
                if next == 0x7D { break }
                s.i -= 1
                throw s.unexpected(expected: "',' or '}'")
            }
        }
        for (index, field) in schema.fields.enumerated() where field.required && seen & (1 << UInt64(index & 63)) == 0 {
            report(.error, .missingField, 0, "missing required field \"\(field.name)\"")
        }
        return counts
    }

    private func checkFieldValue(
        _ field: RecordField, _ s: inout ByteScanner, at offset: Int, counts: inout Counts, report: Report
    ) throws(ByteScanner.Failure) {
        let found = s.kindOfNextValue()
        let matches: Bool =
            switch field.type {
            case .string: found == "a string"
            case .number: found == "a number"
            case .boolean: found == "a boolean"
            case .object: found == "an object"
            case .array: found == "an array"
            }
        guard matches else {
            report(.error, .wrongType, offset, "field \"\(field.name)\" must be \(Self.article(field.type)), found \(found)")
            try s.skipValue(depth: 1)
            return
        }
        guard field.type == .string else {
            try s.skipValue(depth: 1)
            return
        }
        let text = try s.scanString()
        if field.nonEmpty && Self.isBlank(s, text) {
            report(.error, .emptyText, offset, "field \"\(field.name)\" is empty")
        }
        switch field.countsAs {
        case .input: counts.inputCharacters += text.characters
        case .output: counts.outputCharacters += text.characters
        case .none: break
        }
    }

    private func fieldIndex(_ s: ByteScanner, _ key: ByteScanner.StringInfo) -> Int? {
        if key.hasEscapes {
            let name = s.decode(key)
            return schema.fields.firstIndex { $0.name == name }
        }
        let length = key.end - key.start
        for (index, name) in fieldNames.enumerated() where name.count == length {
            var same = true
            for k in 0..<length where s.base[key.start + k] != name[k] {
                same = false
                break
            }
            if same { return index }
        }
        return nil
    }

    static func equal(_ s: ByteScanner, _ a: (Int, Int), _ b: (Int, Int)) -> Bool {
        guard a.1 - a.0 == b.1 - b.0 else { return false }
        for k in 0..<(a.1 - a.0) where s.base[a.0 + k] != s.base[b.0 + k] { return false }
        return true
    }

    /// Empty, or only whitespace (raw, or escaped as \n, \t, \r); usually decided by the
    /// first byte, so it costs nothing on real text.
    static func isBlank(_ s: ByteScanner, _ text: ByteScanner.StringInfo) -> Bool {
        var k = text.start
        while k < text.end {
            switch s.base[k] {
            case 0x20, 0x09:
                k += 1
            case 0x5C where k + 1 < text.end && (s.base[k + 1] == 0x6E || s.base[k + 1] == 0x74 || s.base[k + 1] == 0x72):
                k += 2
            case 0x5C where k + 5 < text.end && s.base[k + 1] == 0x75:
                let unit = (k + 2...k + 5).reduce(0) { $0 << 4 | Int(hexValue(s.base[$1])) }
                guard Character(Unicode.Scalar(UInt16(unit)) ?? "x").isWhitespace else { return false }
                k += 6
            case 0xC2 where k + 1 < text.end && s.base[k + 1] == 0xA0:
                k += 2
            default:
                return false
            }
        }
        return true
    }

    static func hexValue(_ b: UInt8) -> UInt8 {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x61...0x66: b - 0x61 + 10
        case 0x41...0x46: b - 0x41 + 10
        default: 0
        }
    }

    static func article(_ type: JSONType) -> String {
        switch type {
        case .string: "a string"
        case .number: "a number"
        case .boolean: "a boolean"
        case .object: "an object"
        case .array: "an array"
        }
    }
}

/// The keys of one object, kept without a heap allocation for the usual handful.
struct KeyRanges {
    private var inline: ((Int, Int), (Int, Int), (Int, Int), (Int, Int)) = ((0, 0), (0, 0), (0, 0), (0, 0))
    private var count = 0
    private var overflow: [(Int, Int)] = []

    mutating func append(_ range: (Int, Int)) {
        switch count {
        case 0: inline.0 = range
        case 1: inline.1 = range
        case 2: inline.2 = range
        case 3: inline.3 = range
        default: overflow.append(range)
        }
        count += 1
    }

    func contains(where predicate: ((Int, Int)) -> Bool) -> Bool {
        if count > 0 && predicate(inline.0) { return true }
        if count > 1 && predicate(inline.1) { return true }
        if count > 2 && predicate(inline.2) { return true }
        if count > 3 && predicate(inline.3) { return true }
        return overflow.contains(where: predicate)
    }
}
