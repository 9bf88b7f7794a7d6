/// Reads one TOML table into typed settings, collecting every problem with its line.
///
/// Each accessor marks its key as known; `finish()` reports the keys nobody asked for, so
/// a typo such as `adaptor =` is an error rather than a silently ignored setting.
struct TableReader {
    let path: [String]
    let entries: [String: ConfigNode]
    let context: ReaderContext
    private var consumed: Set<String> = []

    init(path: [String], entries: [String: ConfigNode], context: ReaderContext) {
        self.path = path
        self.entries = entries
        self.context = context
    }

    /// What a message calls this table: `[daemon]`, `profile 'summaries'`.
    var subject: String {
        if path.count == 2, path[0] == "profiles" { return "profile '\(path[1])'" }
        if path.count == 2, path[0] == "backends" { return "backend '\(path[1])'" }
        return "[" + path.joined(separator: ".") + "]"
    }

    func error(_ key: String?, _ message: String) {
        let keyPath = key.map { path + [$0] } ?? path
        context.report(line: context.locator.line(for: keyPath), "\(subject): \(message)")
    }

    private mutating func value(_ key: String) -> ConfigNode? {
        consumed.insert(key)
        return entries[key]
    }

    private mutating func typed<T>(
        _ key: String, _ expected: String, _ extract: (ConfigNode) -> T?
    ) -> T? {
        guard let node = value(key) else { return nil }
        if let typed = extract(node) { return typed }
        error(key, "'\(key)' must be \(expected), not \(node.kindName)")
        return nil
    }

    mutating func string(_ key: String) -> String? {
        typed(key, "a string") { if case .string(let s) = $0 { s } else { nil } }
    }

    mutating func requiredString(_ key: String) -> String? {
        guard let s = string(key) else {
            if entries[key] == nil { error(nil, "missing required key '\(key)'") }
            return nil
        }
        return s
    }

    mutating func bool(_ key: String) -> Bool? {
        typed(key, "true or false") { if case .boolean(let b) = $0 { b } else { nil } }
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let i = typed(key, "an integer", { if case .integer(let i) = $0 { i } else { nil } }) else { return nil }
        guard range.contains(i) else {
            error(key, "'\(key)' = \(i) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return i
    }

    /// Integers are accepted where a number is expected: `confidence = 1` means 1.0.
    mutating func number(_ key: String, in range: ClosedRange<Double>) -> Double? {
        guard
            let d = typed(
                key, "a number",
                {
                    switch $0 {
                    case .float(let d): d
                    case .integer(let i): Double(i)
                    default: nil
                    }
                })
        else { return nil }
        guard range.contains(d) else {
            error(key, "'\(key)' = \(d) is out of range \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return d
    }

    /// A length of time, written as a number of `unit`s (the key's name says which).
    mutating func duration(_ key: String, _ unit: TimeUnit, in range: ClosedRange<Double>) -> Duration? {
        number(key, in: range).map { .seconds($0 * unit.seconds) }
    }

    enum TimeUnit {
        case seconds, minutes, hours
        var seconds: Double {
            switch self {
            case .seconds: 1
            case .minutes: 60
            case .hours: 3600
            }
        }
    }

    mutating func stringArray(_ key: String) -> [String]? {
        guard let items = typed(key, "an array of strings", { if case .array(let a) = $0 { a } else { nil } }) else { return nil }
        var out: [String] = []
        for item in items {
            guard case .string(let s) = item else {
                error(key, "'\(key)' must be an array of strings, found \(item.kindName)")
                return nil
            }
            out.append(s)
        }
        return out
    }

    /// A string from a fixed set of words.
    mutating func oneOf(_ key: String, _ allowed: [String]) -> String? {
        guard let value = string(key) else { return nil }
        guard allowed.contains(value) else {
            error(key, "'\(key)' = '\(value)' is not one of \(allowed.joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// An absolute path; relative paths are refused because the daemon's working directory
    /// under systemd is `/`, which would surprise whoever wrote `inbox = "drops"`.
    mutating func absolutePath(_ key: String) -> String? {
        guard let p = string(key) else { return nil }
        guard p.hasPrefix("/") else {
            error(key, "'\(key)' must be an absolute path, not '\(p)'")
            return nil
        }
        return p
    }

    mutating func table(_ key: String) -> TableReader? {
        guard let entries = typed(key, "a table", { if case .table(let t) = $0 { t } else { nil } }) else { return nil }
        return TableReader(path: path + [key], entries: entries, context: context)
    }

    /// A table of tables such as `[profiles.NAME]`, in name order.
    mutating func namedTables(_ key: String) -> [(String, TableReader)] {
        guard let outer = table(key) else { return [] }
        var result: [(String, TableReader)] = []
        for name in outer.entries.keys.sorted() {
            guard case .table(let entries) = outer.entries[name]! else {
                outer.error(name, "'\(name)' must be a table ([\(key).\(name)])")
                continue
            }
            result.append((name, TableReader(path: outer.path + [name], entries: entries, context: context)))
        }
        return result
    }

    /// Raw entries for free-form tables (hyperparameters, tags), marked as consumed.
    mutating func rawTable(_ key: String) -> [String: ConfigNode]? {
        typed(key, "a table", { if case .table(let t) = $0 { t } else { nil } })
    }

    func finish() {
        for key in entries.keys.sorted() where !consumed.contains(key) {
            var message = "unknown key '\(key)'"
            if let hint = suggestion(for: key) { message += " (did you mean '\(hint)'?)" }
            error(key, message)
        }
    }

    /// The closest known key not already present, if it is close enough to be a typo.
    private func suggestion(for key: String) -> String? {
        Spelling.suggestion(for: key, among: consumed.filter { entries[$0] == nil })
    }
}

/// Shared by every reader of one file: where errors go, and how to find lines.
final class ReaderContext {
    let file: String
    let locator: TOMLKeyLocator
    private(set) var diagnostics: [ConfigurationDiagnostic] = []

    init(file: String, locator: TOMLKeyLocator) {
        self.file = file
        self.locator = locator
    }

    func report(line: Int?, _ message: String) {
        diagnostics.append(ConfigurationDiagnostic(file: file, line: line, message: message))
    }
}
