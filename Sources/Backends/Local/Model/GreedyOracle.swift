/// Labels for training: which sentences of a document a completion is made of.
///
/// Greedy, as extractive summarization oracles usually are: start with nothing, repeatedly
/// add the sentence that brings the selection's centroid closest to the completion's
/// vector, and stop when no sentence brings it closer (or when the selection already has
/// one sentence more than the completion). A paraphrase still finds its source sentence,
/// because the comparison is between meanings, not words.
public enum GreedyOracle {
    public static func labels(document: DocumentFeatures, completionVectors: [[Float]], dimension: Int) -> [Float] {
        let n = document.sentences.count
        guard n > 0, !completionVectors.isEmpty else { return [Float](repeating: 0, count: n) }
        let target = Vector.centroid(completionVectors)
        let vectors = (0..<n).map { document.vector($0, dimension: dimension) }
        var chosen: [Int] = []
        var sum = [Float](repeating: 0, count: dimension)
        var best: Float = -2
        let limit = min(n, completionVectors.count + 1)
        while chosen.count < limit {
            var candidate: (index: Int, similarity: Float)?
            for i in 0..<n where !chosen.contains(i) {
                var trial = sum
                for d in 0..<dimension { trial[d] += vectors[i][d] }
                let similarity = Vector.dot(Vector.normalized(trial), target)
                if similarity > (candidate?.similarity ?? -2) { candidate = (i, similarity) }
            }
            guard let candidate, candidate.similarity > best + 1e-4 else { break }
            chosen.append(candidate.index)
            best = candidate.similarity
            for d in 0..<dimension { sum[d] += vectors[candidate.index][d] }
        }
        var labels = [Float](repeating: 0, count: n)
        for i in chosen { labels[i] = 1 }
        return labels
    }
}
