/// Finds the line a TOML key was written on, so configuration errors can say
/// `finetuned.toml:14:` like a compiler does.
///
/// TOMLKit reports positions for syntax errors only, so this reads the (already parsed,
/// hence valid) text once and records where each table header and key appears. Keys inside
/// inline tables and arrays resolve to the line of their enclosing key, which is the line a
/// person would edit anyway.
public struct TOMLKeyLocator: Sendable {
    private var lines: [String: Int] = [:]

    public init(text: String) {
        var table: [String] = []
        var inMultilineString: Substring? = nil
        var number = 0
        var arrayTableCounts: [String: Int] = [:]
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = Substring(rawLine)
            if let delimiter = inMultilineString {
                if line.contains(delimiter) { inMultilineString = nil }
                continue
            }
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[[") {
                let inner = line.dropFirst(2).prefix { $0 != "]" }
                let base = Self.splitKey(inner)
                let joinedBase = Self.join(base)
                let index = arrayTableCounts[joinedBase, default: 0]
                arrayTableCounts[joinedBase] = index + 1
                table = base + [String(index)]
                record(base, line: number, keepFirst: true)
                record(table, line: number)
                continue
            }
            if line.hasPrefix("[") {
                table = Self.splitKey(line.dropFirst().prefix { $0 != "]" })
                record(table, line: number)
                continue
            }
            guard let equals = Self.indexOfAssignment(in: line) else { continue }
            let key = Self.splitKey(line[..<equals])
            guard !key.isEmpty else { continue }
            for depth in 1...key.count {
                record(table + key.prefix(depth), line: number, keepFirst: depth < key.count)
            }
            let value = line[line.index(after: equals)...].drop(while: { $0 == " " || $0 == "\t" })
            for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                if !value.dropFirst(3).contains(delimiter) { inMultilineString = Substring(delimiter) }
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

    /// The `=` that separates key and value, skipping any inside a quoted key.
    private static func indexOfAssignment(in line: Substring) -> Substring.Index? {
        var quote: Character? = nil
        for index in line.indices {
            let c = line[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "=" {
                return index
            }
        }
        return nil
    }

    /// Splits `a."b.c".d` into `["a", "b.c", "d"]`.
    static func splitKey(_ text: Substring) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character? = nil
        for c in text {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "." {
                parts.append(current.trimmingSpaces())
                current = ""
            } else {
                current.append(c)
            }
        }
        let last = current.trimmingSpaces()
        if !last.isEmpty || !parts.isEmpty { parts.append(last) }
        return parts
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" { s.removeLast() }
        return String(s)
    }
}
