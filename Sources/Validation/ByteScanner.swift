/// A JSON scanner over one line's bytes that validates as it goes and allocates nothing.
///
/// The validator must run at several hundred MB/s, so it never builds JSON values: strings
/// are scanned eight bytes at a time while they hold plain ASCII, and only their length in
/// characters (for token estimates) and whether they are empty is kept. Everything that is
/// not valid JSON or valid UTF-8 stops the scan with an offset.
struct ByteScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    var i = 0

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
        end = buffer.count
    }

    /// A copy of the bytes in `range`, for the rare value worth parsing whole (a media block).
    func bytes(_ range: Range<Int>) -> [UInt8] {
        Array(UnsafeBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    struct Failure: Error {
        var kind: ProblemKind
        var offset: Int
        var message: String
    }

    /// A scanned string: where its contents are, and how many characters it decodes to.
    struct StringInfo {
        var start: Int
        var end: Int
        var characters: Int
        var hasEscapes: Bool
    }

    static let maximumDepth = 64

    @inline(__always) var atEnd: Bool { i >= end }
    @inline(__always) var current: UInt8 { base[i] }

    func fail(_ message: String, kind: ProblemKind = .invalidJSON, at offset: Int? = nil) -> Failure {
        Failure(kind: kind, offset: offset ?? i, message: message)
    }

    @inline(__always) mutating func skipWhitespace() {
        while i < end {
            let b = base[i]
            guard b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D else { return }
            i += 1
        }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        skipWhitespace()
        guard i < end else { throw fail("unexpected end of line, expected \(what)") }
        guard base[i] == byte else { throw unexpected(expected: what) }
        i += 1
    }

    func unexpected(expected: String) -> Failure {
        guard i < end else { return fail("unexpected end of line, expected \(expected)") }
        let b = base[i]
        if b == 0 { return fail("NUL byte where \(expected) was expected") }
        if b >= 0x80 { return fail("unexpected non-ASCII byte 0x\(String(b, radix: 16)), expected \(expected)") }
        if b < 0x20 { return fail("unexpected control byte 0x\(String(b, radix: 16)), expected \(expected)") }
        return fail("unexpected '\(Character(Unicode.Scalar(b)))', expected \(expected)")
    }

    /// The first non-whitespace byte, without consuming it.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return i < end ? base[i] : nil
    }

    // MARK: Strings

    /// Scans a string starting at `"`, validating escapes and UTF-8.
    mutating func scanString() throws(Failure) -> StringInfo {
        // The cursor lives in a local while scanning so it stays in a register.
        var p = i + 1
        let start = p
        var characters = 0
        var hasEscapes = false
        defer { i = p }
        while true {
            // Fast path: eight plain ASCII bytes with no quote, backslash or control byte.
            while p &+ 8 <= end {
                let w = UnsafeRawPointer(base + p).loadUnaligned(as: UInt64.self)
                let special = Self.specialBytes(w)
                if special != 0 {
                    // The lowest flagged byte is exact (false positives only sit above a
                    // true match): skip the plain bytes before it in one step.
                    let plain = special.trailingZeroBitCount &>> 3
                    p &+= plain
                    characters &+= plain
                    break
                }
                p &+= 8
                characters &+= 8
            }
            guard p < end else {
                i = p
                throw fail("unterminated string", at: start - 1)
            }
            let b = base[p]
            if b == 0x22 {
                p &+= 1
                return StringInfo(start: start, end: p - 1, characters: characters, hasEscapes: hasEscapes)
            } else if b == 0x5C {
                hasEscapes = true
                let next = p &+ 1 < end ? base[p &+ 1] : 0
                if next == 0x22 || next == 0x5C || next == 0x6E || next == 0x2F || next == 0x74 || next == 0x72 {
                    p &+= 2
                } else {
                    i = p
                    try scanEscape()
                    p = i
                }
                characters &+= 1
            } else if b >= 0xC2 && b <= 0xDF && p &+ 1 < end && base[p &+ 1] & 0xC0 == 0x80 {
                // Two-byte sequences (accented Latin, Greek, Cyrillic) inline.
                p &+= 2
                characters &+= 1
            } else if b >= 0xE1 && b <= 0xEC && p &+ 2 < end && base[p &+ 1] & 0xC0 == 0x80 && base[p &+ 2] & 0xC0 == 0x80 {
                // Three-byte sequences that cannot be overlong or surrogates (punctuation, CJK).
                p &+= 3
                characters &+= 1
            } else if b >= 0x80 {
                i = p
                try scanUTF8Sequence()
                p = i
                characters &+= 1
            } else if b < 0x20 {
                i = p
                throw fail(
                    b == 0
                        ? "NUL byte inside a string (write it as \\u0000 if it is meant)"
                        : "unescaped control byte 0x\(String(b, radix: 16)) inside a string")
            } else {
                p &+= 1
                characters &+= 1
            }
        }
    }

    /// High bits set at bytes that are a quote, a backslash, a control byte or non-ASCII.
    @inline(__always) static func specialBytes(_ w: UInt64) -> UInt64 {
        let high = w & 0x8080_8080_8080_8080
        let quote = hasZeroByte(w ^ 0x2222_2222_2222_2222)
        let backslash = hasZeroByte(w ^ 0x5C5C_5C5C_5C5C_5C5C)
        let control = (w &- 0x2020_2020_2020_2020) & ~w & 0x8080_8080_8080_8080
        return high | quote | backslash | control
    }

    /// Bytes with the high bit set where `w` has a zero byte (exact for the lowest one).
    @inline(__always) static func hasZeroByte(_ w: UInt64) -> UInt64 {
        (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080
    }

    mutating func scanEscape() throws(Failure) {
        let at = i
        i += 1
        guard i < end else { throw fail("unterminated escape", at: at) }
        switch base[i] {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:
            i += 1
        case 0x75:
            i += 1
            let unit = try hex4(at: at)
            if (0xDC00...0xDFFF).contains(unit) { throw fail("lone low surrogate \\u\(String(unit, radix: 16))", at: at) }
            if (0xD800...0xDBFF).contains(unit) {
                guard i + 6 <= end, base[i] == 0x5C, base[i + 1] == 0x75 else {
                    throw fail("high surrogate \\u\(String(unit, radix: 16)) not followed by a low surrogate", at: at)
                }
                i += 2
                let low = try hex4(at: at)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw fail("high surrogate \\u\(String(unit, radix: 16)) not followed by a low surrogate", at: at)
                }
            }
        default:
            throw fail("invalid escape '\\\(Character(Unicode.Scalar(base[i])))'", at: at)
        }
    }

    mutating func hex4(at escape: Int) throws(Failure) -> UInt32 {
        guard i + 4 <= end else { throw fail("incomplete \\u escape", at: escape) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = base[i]
            let digit: UInt32
            switch b {
            case 0x30...0x39: digit = UInt32(b - 0x30)
            case 0x61...0x66: digit = UInt32(b - 0x61 + 10)
            case 0x41...0x46: digit = UInt32(b - 0x41 + 10)
            default: throw fail("invalid \\u escape", at: escape)
            }
            value = value << 4 | digit
            i += 1
        }
        return value
    }

    /// One multi-byte UTF-8 sequence: no overlong forms, no surrogates, nothing past U+10FFFF.
    mutating func scanUTF8Sequence() throws(Failure) {
        let lead = base[i]
        let length: Int
        var lowerSecond: UInt8 = 0x80, upperSecond: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            lowerSecond = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            upperSecond = 0x9F
        case 0xF0:
            length = 4
            lowerSecond = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            upperSecond = 0x8F
        default: throw fail("invalid UTF-8 byte 0x\(String(lead, radix: 16))", kind: .invalidUTF8)
        }
        guard i + length <= end else { throw fail("truncated UTF-8 sequence", kind: .invalidUTF8) }
        let second = base[i + 1]
        guard second >= lowerSecond && second <= upperSecond else {
            throw fail("invalid UTF-8 sequence", kind: .invalidUTF8)
        }
        for k in 2..<length where base[i + k] & 0xC0 != 0x80 {
            throw fail("invalid UTF-8 sequence", kind: .invalidUTF8)
        }
        i += length
    }

    /// The decoded text of a scanned (hence valid) string; used only for short values.
    func decode(_ info: StringInfo) -> String {
        let raw = UnsafeBufferPointer(start: base + info.start, count: info.end - info.start)
        guard info.hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        var quoted = [UInt8](repeating: 0x22, count: raw.count + 2)
        for k in 0..<raw.count { quoted[k + 1] = raw[k] }
        return (try? JSONValueDecoder.decodeString(quoted)) ?? String(decoding: raw, as: UTF8.self)
    }

    // MARK: Other values

    mutating func scanNumber() throws(Failure) {
        let start = i
        if base[i] == 0x2D { i += 1 }
        guard i < end, isDigit(base[i]) else { throw fail("invalid number", at: start) }
        if base[i] == 0x30 {
            i += 1
            if i < end, isDigit(base[i]) { throw fail("leading zero in number", at: start) }
        } else {
            while i < end, isDigit(base[i]) { i += 1 }
        }
        if i < end, base[i] == 0x2E {
            i += 1
            guard i < end, isDigit(base[i]) else { throw fail("invalid number", at: start) }
            while i < end, isDigit(base[i]) { i += 1 }
        }
        if i < end, base[i] == 0x65 || base[i] == 0x45 {
            i += 1
            if i < end, base[i] == 0x2B || base[i] == 0x2D { i += 1 }
            guard i < end, isDigit(base[i]) else { throw fail("invalid number", at: start) }
            while i < end, isDigit(base[i]) { i += 1 }
        }
    }

    @inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    mutating func scanLiteral(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        let start = i
        let matches =
            i + count <= end
            && literal.withUTF8Buffer { expected in
                (0..<count).allSatisfy { base[start + $0] == expected[$0] }
            }
        guard matches else { throw unexpected(expected: "a JSON value") }
        i += count
    }

    /// Validates and skips any value, refusing nesting deeper than `maximumDepth`.
    mutating func skipValue(depth: Int) throws(Failure) {
        skipWhitespace()
        guard i < end else { throw fail("unexpected end of line, expected a value") }
        switch base[i] {
        case 0x22: _ = try scanString()
        case 0x7B:
            guard depth < Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth) levels", kind: .tooDeep) }
            i += 1
            if peek() == 0x7D {
                i += 1
                return
            }
            while true {
                skipWhitespace()
                guard i < end, base[i] == 0x22 else { throw unexpected(expected: "a string key") }
                _ = try scanString()
                try expect(0x3A, "':'")
                try skipValue(depth: depth + 1)
                guard let next = peek() else { throw fail("unexpected end of line inside an object") }
                i += 1
                if next == 0x2C { continue }
                if next == 0x7D { return }
                i -= 1
                throw unexpected(expected: "',' or '}'")
            }
        case 0x5B:
            guard depth < Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth) levels", kind: .tooDeep) }
            i += 1
            if peek() == 0x5D {
                i += 1
                return
            }
            while true {
                try skipValue(depth: depth + 1)
                guard let next = peek() else { throw fail("unexpected end of line inside an array") }
                i += 1
                if next == 0x2C { continue }
                if next == 0x5D { return }
                i -= 1
                throw unexpected(expected: "',' or ']'")
            }
        case 0x74: try scanLiteral("true")
        case 0x66: try scanLiteral("false")
        case 0x6E: try scanLiteral("null")
        case 0x2D, 0x30...0x39: try scanNumber()
        default: throw unexpected(expected: "a JSON value")
        }
    }

    /// The JSON type name of the value at the cursor, for "must be a string, found …".
    mutating func kindOfNextValue() -> String {
        guard let next = peek() else { return "nothing" }
        return switch next {
        case 0x22: "a string"
        case 0x7B: "an object"
        case 0x5B: "an array"
        case 0x74, 0x66: "a boolean"
        case 0x6E: "null"
        case 0x2D, 0x30...0x39: "a number"
        default: "something else"
        }
    }
}
