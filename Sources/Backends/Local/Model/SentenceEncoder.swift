import FinetunedEvaluation
import Synchronization

/// Sentence vectors from the MiniLM encoder the evaluation already runs: the mean of the
/// last layer's token states, L2-normalised, as sentence-transformers pools all-MiniLM-L6-v2.
///
/// The encoder is frozen; both the base and the custom model read a document through it,
/// so vectors are cached by sentence text (bounded) and the second model's pass over the
/// same held-out prompts costs nothing.
public final class SentenceEncoder: Sendable {
    public let encoder: BERTEncoder
    public let tokenizer: WordPieceTokenizer
    public var dimension: Int { encoder.configuration.hidden }
    private let cache = Mutex<[String: [Float]]>([:])
    private let cacheLimit: Int

    public init(encoder: BERTEncoder, tokenizer: WordPieceTokenizer, cacheLimit: Int = 20_000) {
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.cacheLimit = cacheLimit
    }

    public func embed(_ sentence: String) throws -> [Float] {
        try embed([sentence])[0]
    }

    /// Vectors for many sentences: the ones not cached go through the encoder together, in
    /// length-sorted passes of about `tokensPerPass` tokens.
    public func embed(_ sentences: [String], tokensPerPass: Int = 2048) throws -> [[Float]] {
        var vectors = cache.withLock { cache in sentences.map { cache[$0] } }
        var missing: [(index: Int, ids: [Int32])] = []
        var firstIndex: [String: Int] = [:]
        for (i, sentence) in sentences.enumerated() where vectors[i] == nil {
            if firstIndex[sentence] != nil { continue }
            firstIndex[sentence] = i
            // 128 tokens is far more than a sentence needs and keeps a pathological one cheap.
            missing.append((i, tokenizer.encode(sentence, maximumLength: 128)))
        }
        let states = try encoder.hiddenStates(
            lengthBatched: missing.map(\.ids), layers: encoder.configuration.layers,
            tokensPerPass: tokensPerPass)
        for (item, rows) in zip(missing, states) { vectors[item.index] = Self.meanPooled(rows, tokens: item.ids.count, hidden: dimension) }
        let filled = sentences.enumerated().map { i, sentence in vectors[i] ?? vectors[firstIndex[sentence]!]! }
        cache.withLock { cache in
            if cache.count + missing.count > cacheLimit { cache.removeAll(keepingCapacity: true) }
            for item in missing { cache[sentences[item.index]] = filled[item.index] }
        }
        return filled
    }

    static func meanPooled(_ states: [Float], tokens: Int, hidden h: Int) -> [Float] {
        var mean = [Float](repeating: 0, count: h)
        for t in 0..<tokens {
            for d in 0..<h { mean[d] += states[t * h + d] }
        }
        return Vector.normalized(mean)
    }
}

/// The few vector operations the summarizer needs, on plain arrays.
enum Vector {
    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        var sum: Float = 0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }

    static func normalized(_ v: [Float]) -> [Float] {
        let norm = dot(v, v).squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    /// The normalised mean of unit vectors: the direction a set of sentences shares.
    static func centroid(_ vectors: [[Float]]) -> [Float] {
        guard let first = vectors.first else { return [] }
        var sum = [Float](repeating: 0, count: first.count)
        for v in vectors { for i in v.indices { sum[i] += v[i] } }
        return normalized(sum)
    }
}
