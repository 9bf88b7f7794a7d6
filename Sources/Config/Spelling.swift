/// "Did you mean …?" hints for misspelt names in configuration files and drops.
public enum Spelling {
    /// The candidate closest to `word`, if it is close enough to be a typo of it.
    public static func suggestion(for word: String, among candidates: some Collection<String>) -> String? {
        var best: (name: String, distance: Int)? = nil
        // "epochs" for "epochCount": a shared stem of four letters or more is a likely mix-up
        // that edit distance alone misses.
        let stem = word.lowercased().hasSuffix("s") ? String(word.lowercased().dropLast()) : word.lowercased()
        if stem.count >= 4, let match = candidates.sorted().first(where: { $0.lowercased().hasPrefix(stem) }) {
            return match
        }
        for candidate in candidates.sorted() {
            let distance = editDistance(candidate, word)
            guard distance <= max(2, word.count / 3) else { continue }
            if best == nil || distance < best!.distance { best = (candidate, distance) }
        }
        return best?.name
    }

    /// Levenshtein distance, case-insensitive.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(substitution, min(previous[j], current[j - 1]) + 1)
            }
            previous = current
        }
        return previous[b.count]
    }
}
