/// What a finished workflow's archive folder calls the files that sat beside its drop in the
/// spool (the inbox's `Companion`s): spool suffix → archive name.
public enum ArchiveNames {
    public static let training = "training.jsonl"
    public static let companions: [(suffix: String, name: String)] = [
        (".toml", "sidecar.toml"), (".eval.jsonl", "evaluation-set.jsonl"), (".validation.jsonl", "validation-set.jsonl"),
    ]

    public static func name(forSuffix suffix: String) -> String? { companions.first { $0.suffix == suffix }?.name }

    /// Where the companions of the drop at `spoolPath` sit in the spool (`<id>.toml`, … beside
    /// `<id>.jsonl`), each with the name it takes in the archive.
    public static func spoolCompanions(of spoolPath: String) -> [(path: String, name: String)] {
        let stem = spoolPath.hasSuffix(".jsonl") ? String(spoolPath.dropLast(".jsonl".count)) : spoolPath
        return companions.map { (stem + $0.suffix, $0.name) }
    }
}
