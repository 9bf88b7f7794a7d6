import FinetunedThreads
import Foundation
import Synchronization

/// The BERT encoder (all-MiniLM-L6-v2: 6 layers, 384 hidden, 12 heads, GELU) run on the
/// CPU with OpenBLAS for every matrix product. It computes the hidden states BERTScore
/// compares; there is no pooling and no training here.
public final class BERTEncoder: @unchecked Sendable {
    public struct Configuration: Sendable, Equatable {
        public var hidden = 384
        public var layers = 6
        public var heads = 12
        public var intermediate = 1536
        public var vocabulary = 30522
        public var maximumPositions = 512
        public var layerNormEpsilon: Float = 1e-12
        public init() {}
    }

    public let configuration: Configuration
    let weights: SafeTensors
    /// Held for as long as the encoder lives: the last encoder to go unloads OpenBLAS.
    let blas: BLASLibrary

    public init(modelFile: String, configuration: Configuration = Configuration()) throws {
        self.configuration = configuration
        blas = try BLASLibrary.open()
        weights = try SafeTensors(path: modelFile)
        // Check every tensor once, so a wrong file fails here and not mid-evaluation.
        _ = try embeddingTables()
        for layer in 0..<configuration.layers { _ = try layerWeights(layer) }
    }

    struct Linear {
        var weight: UnsafeBufferPointer<Float>
        var bias: UnsafeBufferPointer<Float>
        var inputs: Int
        var outputs: Int
    }

    struct Norm {
        var gamma: UnsafeBufferPointer<Float>
        var beta: UnsafeBufferPointer<Float>
    }

    struct LayerWeights {
        var query, key, value, attentionOutput, intermediate, output: Linear
        var attentionNorm, outputNorm: Norm
    }

    func linear(_ prefix: String, inputs: Int, outputs: Int) throws -> Linear {
        Linear(
            weight: try weights.float32(prefix + ".weight", shape: [outputs, inputs]),
            bias: try weights.float32(prefix + ".bias", shape: [outputs]), inputs: inputs, outputs: outputs)
    }

    func norm(_ prefix: String) throws -> Norm {
        Norm(
            gamma: try weights.float32(prefix + ".weight", shape: [configuration.hidden]),
            beta: try weights.float32(prefix + ".bias", shape: [configuration.hidden]))
    }

    func embeddingTables() throws -> (
        words: UnsafeBufferPointer<Float>, positions: UnsafeBufferPointer<Float>, types: UnsafeBufferPointer<Float>, norm: Norm
    ) {
        let h = configuration.hidden
        return (
            try weights.float32("embeddings.word_embeddings.weight", shape: [configuration.vocabulary, h]),
            try weights.float32("embeddings.position_embeddings.weight", shape: [configuration.maximumPositions, h]),
            try weights.float32("embeddings.token_type_embeddings.weight", shape: [2, h]),
            try norm("embeddings.LayerNorm")
        )
    }

    func layerWeights(_ i: Int) throws -> LayerWeights {
        let h = configuration.hidden, f = configuration.intermediate
        let p = "encoder.layer.\(i)."
        return LayerWeights(
            query: try linear(p + "attention.self.query", inputs: h, outputs: h),
            key: try linear(p + "attention.self.key", inputs: h, outputs: h),
            value: try linear(p + "attention.self.value", inputs: h, outputs: h),
            attentionOutput: try linear(p + "attention.output.dense", inputs: h, outputs: h),
            intermediate: try linear(p + "intermediate.dense", inputs: h, outputs: f),
            output: try linear(p + "output.dense", inputs: f, outputs: h),
            attentionNorm: try norm(p + "attention.output.LayerNorm"),
            outputNorm: try norm(p + "output.LayerNorm"))
    }

    /// The hidden states of many sentences, in their order: sorted by length and cut into
    /// passes of about `tokensPerPass` tokens (a few large matrix products each, no padding),
    /// the passes spread over the cores.
    public func hiddenStates(lengthBatched ids: [[Int32]], layers: Int, tokensPerPass: Int = 2048) throws -> [[Float]] {
        let order = ids.indices.sorted { ids[$0].count < ids[$1].count }
        var passes: [[Int]] = []
        var start = 0
        while start < order.count {
            var end = start, tokens = 0
            while end < order.count, end == start || tokens + ids[order[end]].count <= tokensPerPass {
                tokens += ids[order[end]].count
                end += 1
            }
            passes.append(Array(order[start..<end]))
            start = end
        }
        var states = [[Float]](repeating: [], count: ids.count)
        for (pass, rows) in zip(passes, try hiddenStates(passes: passes.map { $0.map { ids[$0] } }, layers: layers)) {
            for (index, row) in zip(pass, rows) { states[index] = row }
        }
        return states
    }

    /// Several independent passes at once, one per core (each pass as `hiddenStates(batch:)`).
    /// OpenBLAS's own threads would spin while the scalar parts of a layer (GELU, softmax,
    /// layer norm) run on one core, which costs more than they give on sentence-sized
    /// products; so BLAS runs single-threaded (`BLAS`) and whole passes, scalar work
    /// included, are spread over the cores instead.
    public func hiddenStates(passes: [[[Int32]]], layers: Int) throws -> [[[Float]]] {
        guard passes.count > 1 else { return try passes.map { try hiddenStates(batch: $0, layers: layers) } }
        let collected = Mutex<[Result<[[Float]], Error>?]>(Array(repeating: nil, count: passes.count))
        ParallelLoop.run(passes.count) { index in
            let result = Result { try self.hiddenStates(batch: passes[index], layers: layers) }
            collected.withLock { $0[index] = result }
        }
        return try collected.withLock { $0 }.map { try $0!.get() }
    }

    /// The hidden states of one sentence after `layers` encoder layers (0: the embeddings),
    /// row-major `[tokens × hidden]`.
    public func hiddenStates(ids: [Int32], layers: Int) throws -> [Float] {
        try hiddenStates(batch: [ids], layers: layers)[0]
    }

    /// The hidden states of several sentences at once. Every layer but attention works token
    /// by token, so the sentences' tokens are stacked into one matrix and each matrix product
    /// runs once for all of them (far better use of BLAS than many thin products); attention
    /// stays within each sentence. No padding is involved, so the result equals one
    /// sentence at a time.
    public func hiddenStates(batch: [[Int32]], layers: Int) throws -> [[Float]] {
        let h = configuration.hidden
        precondition(layers <= configuration.layers)
        var segments: [Range<Int>] = []
        var total = 0
        for ids in batch {
            precondition(ids.count <= configuration.maximumPositions)
            segments.append(total..<(total + ids.count))
            total += ids.count
        }
        let tables = try embeddingTables()
        var x = [Float](repeating: 0, count: total * h)
        for (ids, segment) in zip(batch, segments) {
            for (t, id) in ids.enumerated() {
                let word = Int(id) * h, position = t * h, row = (segment.lowerBound + t) * h
                for d in 0..<h { x[row + d] = tables.words[word + d] + tables.positions[position + d] + tables.types[d] }
            }
        }
        layerNorm(&x, rows: total, tables.norm)
        for layer in 0..<layers {
            try encoderLayer(&x, segments: segments, try layerWeights(layer))
        }
        return segments.map { Array(x[($0.lowerBound * h)..<($0.upperBound * h)]) }
    }

    private func encoderLayer(_ x: inout [Float], segments: [Range<Int>], _ w: LayerWeights) throws {
        let h = configuration.hidden, heads = configuration.heads, d = h / heads
        let n = segments.last?.upperBound ?? 0
        let q = apply(w.query, x, rows: n), k = apply(w.key, x, rows: n), v = apply(w.value, x, rows: n)
        var context = [Float](repeating: 0, count: n * h)
        let longest = segments.map(\.count).max() ?? 0
        var scores = [Float](repeating: 0, count: longest * longest)
        let scale = 1 / Float(d).squareRoot()
        for segment in segments {
            let m = segment.count, first = segment.lowerBound * h
            guard m > 0 else { continue }
            for head in 0..<heads {
                let offset = first + head * d
                q.withUnsafeBufferPointer { qp in
                    k.withUnsafeBufferPointer { kp in
                        blas.sgemm(
                            transposeB: true, m: Int32(m), n: Int32(m), k: Int32(d), alpha: scale,
                            a: qp.baseAddress! + offset, lda: Int32(h), b: kp.baseAddress! + offset, ldb: Int32(h), beta: 0,
                            c: &scores, ldc: Int32(m))
                    }
                }
                for row in 0..<m { softmax(&scores, offset: row * m, count: m) }
                v.withUnsafeBufferPointer { vp in
                    context.withUnsafeMutableBufferPointer { cp in
                        blas.sgemm(
                            transposeB: false, m: Int32(m), n: Int32(d), k: Int32(m), alpha: 1,
                            a: scores, lda: Int32(m), b: vp.baseAddress! + offset, ldb: Int32(h), beta: 0,
                            c: cp.baseAddress! + offset, ldc: Int32(h))
                    }
                }
            }
        }
        var attended = apply(w.attentionOutput, context, rows: n)
        for i in 0..<attended.count { attended[i] += x[i] }
        layerNorm(&attended, rows: n, w.attentionNorm)
        var inner = apply(w.intermediate, attended, rows: n)
        for i in 0..<inner.count { inner[i] = 0.5 * inner[i] * (1 + erff(inner[i] / Float(2).squareRoot())) }
        var output = apply(w.output, inner, rows: n)
        for i in 0..<output.count { output[i] += attended[i] }
        layerNorm(&output, rows: n, w.outputNorm)
        x = output
    }

    /// `x · Wᵀ + b` for `rows` rows; W is stored `[outputs, inputs]`.
    private func apply(_ l: Linear, _ x: [Float], rows n: Int) -> [Float] {
        var y = [Float](repeating: 0, count: n * l.outputs)
        for r in 0..<n { for o in 0..<l.outputs { y[r * l.outputs + o] = l.bias[o] } }
        blas.sgemm(
            transposeB: true, m: Int32(n), n: Int32(l.outputs), k: Int32(l.inputs), alpha: 1,
            a: x, lda: Int32(l.inputs), b: l.weight.baseAddress!, ldb: Int32(l.inputs), beta: 1, c: &y, ldc: Int32(l.outputs))
        return y
    }

    private func softmax(_ values: inout [Float], offset: Int, count: Int) {
        var maximum = -Float.infinity
        for i in offset..<(offset + count) { maximum = max(maximum, values[i]) }
        var sum: Float = 0
        for i in offset..<(offset + count) {
            values[i] = expf(values[i] - maximum)
            sum += values[i]
        }
        for i in offset..<(offset + count) { values[i] /= sum }
    }

    private func layerNorm(_ x: inout [Float], rows n: Int, _ norm: Norm) {
        let h = configuration.hidden
        for r in 0..<n {
            let base = r * h
            var mean: Float = 0
            for d in 0..<h { mean += x[base + d] }
            mean /= Float(h)
            var variance: Float = 0
            for d in 0..<h {
                let c = x[base + d] - mean
                variance += c * c
            }
            variance /= Float(h)
            let inverse = 1 / (variance + configuration.layerNormEpsilon).squareRoot()
            for d in 0..<h { x[base + d] = (x[base + d] - mean) * inverse * norm.gamma[d] + norm.beta[d] }
        }
    }
}
