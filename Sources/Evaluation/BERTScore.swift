import Foundation

/// BERTScore as the `bert-score` package (0.3.13) computes it: hidden states after one layer,
/// L2-normalised token vectors, greedy best match by cosine in both directions, precision
/// and recall as weighted means, F1 their harmonic mean. `[CLS]` and `[SEP]` weigh 0 but
/// stay in the similarity matrix, so other tokens can match them.
public struct BERTScore: Sendable, Equatable {
    public var precision: Float
    public var recall: Float
    public var f1: Float

    public init(precision: Float, recall: Float, f1: Float) {
        self.precision = precision
        self.recall = recall
        self.f1 = f1
    }
}

/// One sentence's token ids and normalised vectors, computed once and scored many times
/// (the references are shared by the base and the custom model's outputs).
public struct SentenceEmbedding: Sendable {
    public var ids: [Int32]
    /// Row-major `[tokens × hidden]`, each row of unit length.
    public var vectors: [Float]
    public var hidden: Int
}

public struct BERTScorer: Sendable {
    public let encoder: BERTEncoder
    public let tokenizer: WordPieceTokenizer
    public let layer: Int

    public init(encoder: BERTEncoder, tokenizer: WordPieceTokenizer, layer: Int = 6) {
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.layer = layer
    }

    public func embed(_ text: String) throws -> SentenceEmbedding {
        try embed([text])[0]
    }

    /// Embeds many texts in length-sorted passes (`BERTEncoder.hiddenStates(lengthBatched:)`),
    /// then L2-normalises every token vector.
    public func embed(_ texts: [String], tokensPerPass: Int = 2048) throws -> [SentenceEmbedding] {
        let ids = texts.map { tokenizer.encode($0) }
        let h = encoder.configuration.hidden
        let states = try encoder.hiddenStates(lengthBatched: ids, layers: layer, tokensPerPass: tokensPerPass)
        return zip(ids, states).map { ids, rows in
            var rows = rows
            for t in 0..<ids.count {
                var squares: Float = 0
                for d in 0..<h { squares += rows[t * h + d] * rows[t * h + d] }
                let inverse = squares > 0 ? 1 / squares.squareRoot() : 0
                for d in 0..<h { rows[t * h + d] *= inverse }
            }
            return SentenceEmbedding(ids: ids, vectors: rows, hidden: h)
        }
    }

    /// Token weights: 1 (or the idf) for every token, 0 for `[CLS]` and `[SEP]`.
    func weights(_ ids: [Int32], idf: [Int32: Float]?, unseen: Float) -> [Float] {
        ids.map { id in
            if id == tokenizer.classifierID || id == tokenizer.separatorID { return 0 }
            guard let idf else { return 1 }
            return idf[id] ?? unseen
        }
    }

    /// Scores `candidate` against `reference`; an empty side scores 0 (the caller warns).
    public func score(_ candidate: SentenceEmbedding, _ reference: SentenceEmbedding, idf: IDFWeights? = nil) -> BERTScore {
        let h = candidate.hidden
        let c = candidate.ids.count, r = reference.ids.count
        let cw = weights(candidate.ids, idf: idf?.weights, unseen: idf?.unseen ?? 1)
        let rw = weights(reference.ids, idf: idf?.weights, unseen: idf?.unseen ?? 1)
        let cTotal = cw.reduce(0, +), rTotal = rw.reduce(0, +)
        guard cTotal > 0, rTotal > 0 else { return BERTScore(precision: 0, recall: 0, f1: 0) }
        // Cosine similarities of every candidate token with every reference token, `[c × r]`.
        var similarity = [Float](repeating: 0, count: c * r)
        encoder.blas.sgemm(
            transposeB: true, m: Int32(c), n: Int32(r), k: Int32(h), alpha: 1, a: candidate.vectors, lda: Int32(h),
            b: reference.vectors, ldb: Int32(h), beta: 0, c: &similarity, ldc: Int32(r))
        var bestForCandidate = [Float](repeating: -.infinity, count: c)
        var bestForReference = [Float](repeating: -.infinity, count: r)
        for i in 0..<c {
            for j in 0..<r {
                let value = similarity[i * r + j]
                bestForCandidate[i] = max(bestForCandidate[i], value)
                bestForReference[j] = max(bestForReference[j], value)
            }
        }
        var precision: Float = 0, recall: Float = 0
        for i in 0..<c { precision += cw[i] * bestForCandidate[i] }
        for j in 0..<r { recall += rw[j] * bestForReference[j] }
        precision /= cTotal
        recall /= rTotal
        let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        return BERTScore(precision: precision, recall: recall, f1: f1)
    }
}

/// Inverse document frequencies from a reference set: `ln((M + 1) / (df + 1))` for a token in
/// `df` of the `M` references, `ln(M + 1)` for a token none of them holds.
public struct IDFWeights: Sendable {
    public var weights: [Int32: Float]
    public var unseen: Float

    public init(references: [[Int32]]) {
        let m = Float(references.count)
        var documentFrequency: [Int32: Int] = [:]
        for ids in references { for id in Set(ids) { documentFrequency[id, default: 0] += 1 } }
        weights = documentFrequency.mapValues { logf((m + 1) / (Float($0) + 1)) }
        unseen = logf(m + 1)
    }
}
