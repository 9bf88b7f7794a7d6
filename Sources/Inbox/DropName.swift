/// Which names in a profile folder are drops.
///
/// Editors and copy tools write temporary files next to their target; those must never be
/// claimed half-written. The safe way to drop is to write elsewhere and `mv` in.
public enum DropName {
    /// A training set to claim: `NAME.jsonl`, not hidden, not a temporary name.
    public static func isDrop(_ name: String) -> Bool {
        name.hasSuffix(".jsonl") && name.count > ".jsonl".count && !isIgnored(name)
    }

    /// Dotfiles and temporary names (`*.tmp`, `*.part`, `*~`, `.#*`), never touched.
    public static func isIgnored(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix(".part") || name.hasSuffix("~")
            || name.hasPrefix(".#")
    }

    /// The sidecar for a drop: `q3.jsonl` → `q3.toml`.
    public static func sidecar(for name: String) -> String {
        String(name.dropLast(".jsonl".count)) + ".toml"
    }
}
