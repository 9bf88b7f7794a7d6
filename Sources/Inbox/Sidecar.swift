import FinetunedConfig
import FinetunedText
import FinetunedWorkflow
import Foundation

/// Per-drop settings in `NAME.toml` beside `NAME.jsonl`, checked as strictly as the
/// configuration: a typo is a rejection with its line, never a silently ignored setting.
public struct Sidecar: Sendable, Equatable {
    public var hyperparameters: [String: ConfigNode] = [:]
    /// Prefixes: the daemon always appends `-<workflow id>`, so a sidecar can never name
    /// another workflow's job or model (or a months-old one: Bedrock keeps job names).
    public var jobName: String?
    public var customModelName: String?
    /// A name from the profile's `[profiles.X.evaluation_sets]`, never a path: a submitter
    /// must not make the daemon read a file the submitter cannot read.
    public var evaluationSet: String?
    /// A name from `[profiles.X.validation_sets]`; replaces the profile's `validation_set`.
    public var validationSet: String?
    /// Run even if the same bytes are already running for this profile.
    public var force = false

    public init() {}

    public static func parse(text: String, file: String) throws(ConfigurationError) -> Sidecar {
        let table = try SidecarReader.read(text: text, file: file)
        return table
    }
}

enum SidecarReader {
    static let keys: Set<String> = ["hyperparameters", "job_name", "custom_model_name", "evaluation_set", "validation_set", "force"]

    static func read(text: String, file: String) throws(ConfigurationError) -> Sidecar {
        // The sidecar has the shape of a profile's drop-tunable part; reuse the configuration
        // parser's diagnostics by reading it as a one-profile document.
        let wrapped = try ConfigurationLoader.parseDocument(text: text, file: file)
        var sidecar = Sidecar()
        var problems: [ConfigurationDiagnostic] = []
        func problem(_ key: String?, _ message: String) {
            problems.append(ConfigurationDiagnostic(file: file, line: key.flatMap { wrapped.locator.line(for: [$0]) }, message: message))
        }
        for (key, value) in wrapped.root.sorted(by: { $0.key < $1.key }) {
            switch (key, value) {
            case ("hyperparameters", .table(let entries)):
                for (name, v) in entries where v.scalarText == nil {
                    problem(key, "hyperparameter '\(name)' must be a string, number or boolean")
                }
                sidecar.hyperparameters = entries
            case ("job_name", .string(let s)): sidecar.jobName = s
            case ("custom_model_name", .string(let s)): sidecar.customModelName = s
            case ("evaluation_set", .string(let s)):
                if let why = setNameProblem(s, table: "evaluation_sets", companion: .evaluation) {
                    problem(key, why)
                } else {
                    sidecar.evaluationSet = s
                }
            case ("validation_set", .string(let s)):
                if let why = setNameProblem(s, table: "validation_sets", companion: .validation) {
                    problem(key, why)
                } else {
                    sidecar.validationSet = s
                }
            case ("force", .boolean(let b)): sidecar.force = b
            case (let k, _) where keys.contains(k):
                problem(k, "'\(k)' has the wrong type (\(value))")
            default:
                let hint = Spelling.suggestion(for: key, among: keys).map { " (did you mean '\($0)'?)" } ?? ""
                problem(key, "unknown key '\(key)'\(hint)")
            }
        }
        // Checked as the names they become: the prefix, '-', a workflow id.
        let sample = "-wf-20000101-00000000"
        if let name = sidecar.jobName, name.utf8.count > maxPrefix || !isValidJobName(name + sample) {
            problem(
                "job_name",
                "'\(name)' is not a valid job name prefix (1 to \(maxPrefix) letters, digits, '+', '-', '.'; starting with a letter "
                    + "or digit; the daemon appends -<workflow id>)")
        }
        if let name = sidecar.customModelName, name.utf8.count > maxPrefix || !isValidModelName(name + sample) {
            problem(
                "custom_model_name",
                "'\(name)' is not a valid custom model name prefix (1 to \(maxPrefix) letters, digits, '-' and '_', "
                    + "no two in a row, not at the end; the daemon appends -<workflow id>)")
        }
        if !problems.isEmpty { throw ConfigurationError(problems) }
        return sidecar
    }

    static let maxPrefix = ResourceNaming.maxPrefixLength

    /// Sets are chosen by name; whether the profile lists the name is checked at validation.
    static func setNameProblem(_ name: String, table: String, companion: Companion) -> String? {
        if ConfigurationLoader.isValidName(name) { return nil }
        let shown = OneLine.of(name, limit: 80)
        return "'\(shown)' is not a set name: name one of the profile's [\(table)] (letters, digits, '-' and '_'), "
            + "or put the file beside the drop as NAME\(companion.suffix); paths are never taken from a sidecar"
    }

    /// `[a-zA-Z0-9](-*[a-zA-Z0-9\+\-\.])*`, 1 to 63: Bedrock's jobName pattern.
    static func isValidJobName(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard (1...63).contains(b.count), b[0].isAlnum else { return false }
        return b.allSatisfy { $0.isAlnum || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ".") }
    }

    /// `([0-9a-zA-Z][_-]?){1,63}`: Bedrock's customModelName pattern.
    static func isValidModelName(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard (1...63).contains(b.count), b[0].isAlnum else { return false }
        var previousSeparator = false
        for byte in b {
            if byte.isAlnum {
                previousSeparator = false
                continue
            }
            guard byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_"), !previousSeparator else { return false }
            previousSeparator = true
        }
        return true
    }
}

extension UInt8 {
    var isAlnum: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
    }
}
