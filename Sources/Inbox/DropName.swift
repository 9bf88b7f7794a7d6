/// Which names in a profile folder are drops, and the files that travel with them.
///
/// Editors and copy tools write temporary files next to their target; those must never be
/// claimed half-written. The safe way to drop is to write elsewhere and `mv` in.
public enum DropName {
    /// A training set to claim: `NAME.jsonl`, not hidden, not a temporary name, not a
    /// companion of another drop.
    public static func isDrop(_ name: String) -> Bool {
        name.hasSuffix(".jsonl") && name.count > ".jsonl".count && !isIgnored(name)
            && Companion.allCases.allSatisfy { !$0.matches(name) }
    }

    /// Dotfiles and temporary names (`*.tmp`, `*.part`, `*~`, `.#*`), never touched.
    public static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part") || name.hasSuffix("~")
            || name.hasPrefix(".#")
    }

    /// The sidecar for a drop: `q3.jsonl` → `q3.toml`.
    public static func sidecar(for name: String) -> String { Companion.sidecar.name(for: name) }

    /// The longest drop name the daemon takes: with `.`, `.receipt` and a temporary suffix it
    /// still fits the 255 bytes a file name may have.
    public static let maximumBytes = 200

    /// Why a name cannot be claimed as it is, or nil. Names go into receipts, reports, mail
    /// subjects and the journal: a control character there forges lines and headers.
    public static func problem(with name: String) -> String? {
        if name.utf8.count > maximumBytes {
            return "its name is \(name.utf8.count) bytes long, over the limit of \(maximumBytes)"
        }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return "its name contains control characters"
        }
        return nil
    }
}

/// A file that travels with a drop: written beside it before it, claimed with it, and
/// checked like it. `q3.jsonl` has `q3.toml`, `q3.eval.jsonl` and `q3.validation.jsonl`.
public enum Companion: String, CaseIterable, Sendable {
    /// Per-drop settings.
    case sidecar
    /// The held-out prompts this drop's model is judged on.
    case evaluation
    /// The validation data the customization job gets.
    case validation

    /// What follows the drop's stem in the inbox and in the spool.
    public var suffix: String {
        switch self {
        case .sidecar: ".toml"
        case .evaluation: ".eval.jsonl"
        case .validation: ".validation.jsonl"
        }
    }

    public func name(for drop: String) -> String {
        (drop.hasSuffix(".jsonl") ? String(drop.dropLast(".jsonl".count)) : drop) + suffix
    }

    func matches(_ name: String) -> Bool { self != .sidecar && name.hasSuffix(suffix) }

    /// Words for a report: "the sidecar q3.toml".
    public func words(_ name: String) -> String {
        switch self {
        case .sidecar: "the sidecar \(name)"
        case .evaluation: "the evaluation set \(name)"
        case .validation: "the validation set \(name)"
        }
    }
}
