/// A series as one line of block characters, lowest value ▁, highest █: a loss curve that
/// fits in a terminal line.
public enum Sparkline {
    static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public static func of(_ values: [Double]) -> String {
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return "" }
        return String(
            values.map { value -> Character in
                guard value.isFinite else { return " " }
                guard high > low else { return blocks[3] }
                return blocks[min(blocks.count - 1, Int((value - low) / (high - low) * Double(blocks.count - 1) + 0.5))]
            })
    }
}
