/// A document as the scoring head sees it: each sentence's vector plus where it sits and
/// how it relates to the rest.
///
/// The centroid similarity is the base model's whole signal; the head gets it as one input
/// among others, so training can learn when the most central sentence is *not* the one a
/// summary wants (the cause of an incident rarely restates its symptoms).
public struct DocumentFeatures: Sendable, Equatable, Codable {
    public var sentences: [String]
    /// One row per sentence, `featureCount` values each.
    public var rows: [[Float]]
    public var centrality: [Float]

    /// Sentence vector, then: centroid similarity, its rank among the sentences (1 = most
    /// central, 0 = least), relative position, first, last, length.
    public static func featureCount(dimension: Int) -> Int { dimension + 6 }

    public init(sentences: [String], rows: [[Float]], centrality: [Float]) {
        self.sentences = sentences
        self.rows = rows
        self.centrality = centrality
    }

    public init(document: String, encoder: SentenceEncoder) throws {
        let sentences = SentenceSplitter.sentences(document)
        let vectors = try encoder.embed(sentences)
        self.init(sentences: sentences, vectors: vectors)
    }

    public init(sentences: [String], vectors: [[Float]]) {
        self.sentences = sentences
        let centroid = Vector.centroid(vectors)
        let centrality = vectors.map { Vector.dot($0, centroid) }
        self.centrality = centrality
        let n = sentences.count
        let order = centrality.indices.sorted { centrality[$0] > centrality[$1] }
        var rank = [Float](repeating: 0, count: n)
        for (place, index) in order.enumerated() { rank[index] = n > 1 ? 1 - Float(place) / Float(n - 1) : 1 }
        rows = sentences.indices.map { i in
            let words = Float(SentenceSplitter.wordCount(sentences[i]))
            return vectors[i] + [
                centrality[i], rank[i],
                n > 1 ? Float(i) / Float(n - 1) : 0,
                i == 0 ? 1 : 0, i == n - 1 ? 1 : 0,
                min(words, 60) / 30,
            ]
        }
    }

    /// The vectors alone, for the oracle.
    public func vector(_ i: Int, dimension: Int) -> [Float] { Array(rows[i].prefix(dimension)) }
}
