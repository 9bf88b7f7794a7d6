/// Finds the line a TOML key was written on, so configuration errors can say
/// `finetuned.toml:14:` like a compiler does.
///
/// TOMLKit reports positions for syntax errors only, so this reads the (already parsed,
/// hence valid) text once and records where each table header and key appears. Keys inside
/// inline tables and arrays resolve to the line of their enclosing key, which is the line a
/// person would edit anyway. It scans UTF-8 bytes: every TOML delimiter is ASCII.
public struct TOMLKeyLocator: Sendable, Equatable {
    private var lines: [String: Int] = [:]

    public init(text: String) {
        var table: [String] = []
        var multilineDelimiter: UInt8? = nil
        var arrayTableCounts: [String: Int] = [:]
        var number = 0
        let bytes = Array(text.utf8)
        var start = 0
        while start <= bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            number += 1
            let line = bytes[start..<end]
            start = end + 1
            if let delimiter = multilineDelimiter {
                if Self.containsTriple(delimiter, in: line) { multilineDelimiter = nil }
                continue
            }
            guard let first = line.firstIndex(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) else { continue }
            let content = line[first...]
            switch content.first {
            case UInt8(ascii: "#"):
                continue
            case UInt8(ascii: "["):
                let isArrayTable = content.dropFirst().first == UInt8(ascii: "[")
                let inner = content.dropFirst(isArrayTable ? 2 : 1)
                let name = Self.splitKey(inner.prefix { $0 != UInt8(ascii: "]") })
                if isArrayTable {
                    let joined = Self.join(name)
                    let index = arrayTableCounts[joined, default: 0]
                    arrayTableCounts[joined] = index + 1
                    record(name, line: number, keepFirst: true)
                    table = name + [String(index)]
                } else {
                    table = name
                }
                record(table, line: number)
            default:
                guard let equals = Self.indexOfAssignment(in: content) else { continue }
                let key = Self.splitKey(content[..<equals])
                guard !key.isEmpty else { continue }
                for depth in 1...key.count {
                    record(table + key.prefix(depth), line: number, keepFirst: depth < key.count)
                }
                let value = content[(equals + 1)...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
                for quote in [UInt8(ascii: "\""), UInt8(ascii: "'")] where value.starts(with: [quote, quote, quote]) {
                    if !Self.containsTriple(quote, in: value.dropFirst(3)) { multilineDelimiter = quote }
                }
            }
        }
    }

    /// The line of the key at `path`, or of its nearest recorded ancestor.
    public func line(for path: [String]) -> Int? {
        var path = path
        while !path.isEmpty {
            if let line = lines[Self.join(path)] { return line }
            path.removeLast()
        }
        return nil
    }

    private mutating func record(_ path: [String], line: Int, keepFirst: Bool = false) {
        let key = Self.join(path)
        if keepFirst, lines[key] != nil { return }
        lines[key] = line
    }

    private static func join(_ path: [String]) -> String { path.joined(separator: "\u{1F}") }

    private static func containsTriple(_ quote: UInt8, in bytes: ArraySlice<UInt8>) -> Bool {
        var run = 0
        for byte in bytes {
            run = byte == quote ? run + 1 : 0
            if run == 3 { return true }
        }
        return false
    }

    /// The `=` that separates key and value, skipping any inside a quoted key.
    private static func indexOfAssignment(in line: ArraySlice<UInt8>) -> Int? {
        var quote: UInt8? = nil
        for index in line.indices {
            let c = line[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: "=") {
                return index
            }
        }
        return nil
    }

    /// Splits `a."b.c".d` into `["a", "b.c", "d"]`.
    static func splitKey(_ text: ArraySlice<UInt8>) -> [String] {
        var parts: [String] = []
        var current: [UInt8] = []
        var quote: UInt8? = nil
        func finishPart() {
            var part = current[...]
            while let f = part.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") { part.removeFirst() }
            while let l = part.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") || l == UInt8(ascii: "\r") { part.removeLast() }
            parts.append(String(decoding: part, as: UTF8.self))
            current.removeAll(keepingCapacity: true)
        }
        for c in text {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: ".") {
                finishPart()
            } else {
                current.append(c)
            }
        }
        let hasContent = current.contains { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }
        if hasContent || !parts.isEmpty { finishPart() }
        return parts
    }
}
