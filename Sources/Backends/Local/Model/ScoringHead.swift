import FinetunedEvaluation

/// The custom model's trainable part: a small two-layer network (tanh hidden layer, one
/// logit) that scores a sentence from its `DocumentFeatures` row. The encoder under it is
/// frozen, so this is all a customization job changes and all a custom model stores.
public struct ScoringHead: Sendable, Equatable, Codable {
    public var inputs: Int
    public var hidden: Int
    /// `[hidden × inputs]`, row-major.
    public var w1: [Float]
    public var b1: [Float]
    public var w2: [Float]
    public var b2: Float

    /// Small random weights from a seeded generator, so a job's training is reproducible.
    public init(inputs: Int, hidden: Int, seed: UInt64) {
        self.inputs = inputs
        self.hidden = hidden
        var random = SplitMix64(seed: seed)
        let scale1 = 1 / Float(inputs).squareRoot(), scale2 = 1 / Float(hidden).squareRoot()
        w1 = (0..<(hidden * inputs)).map { _ in random.nextSymmetric() * scale1 }
        b1 = [Float](repeating: 0, count: hidden)
        w2 = (0..<hidden).map { _ in random.nextSymmetric() * scale2 }
        b2 = 0
    }

    public var parameterCount: Int { w1.count + b1.count + w2.count + 1 }

    /// The logit for one row, and the hidden activations the gradient needs.
    func forward(_ x: [Float]) -> (logit: Float, activations: [Float]) {
        var activations = [Float](repeating: 0, count: hidden)
        var logit = b2
        x.withUnsafeBufferPointer { x in
            w1.withUnsafeBufferPointer { w in
                for j in 0..<hidden {
                    var sum = b1[j]
                    let row = j * inputs
                    for i in 0..<inputs { sum += w[row + i] * x[i] }
                    let a = tanhf(sum)
                    activations[j] = a
                    logit += w2[j] * a
                }
            }
        }
        return (logit, activations)
    }

    public func score(_ x: [Float]) -> Float { forward(x).logit }

    /// Adds d(loss)/d(parameters) for one row with d(loss)/d(logit) = `delta` into `gradient`
    /// (laid out as w1, b1, w2, b2).
    func accumulateGradient(_ x: [Float], activations: [Float], delta: Float, into gradient: inout [Float]) {
        let b1Offset = w1.count, w2Offset = b1Offset + hidden, b2Offset = w2Offset + hidden
        gradient.withUnsafeMutableBufferPointer { g in
            for j in 0..<hidden {
                g[w2Offset + j] += delta * activations[j]
                let back = delta * w2[j] * (1 - activations[j] * activations[j])
                if back == 0 { continue }
                g[b1Offset + j] += back
                let row = j * inputs
                for i in 0..<inputs { g[row + i] += back * x[i] }
            }
            g[b2Offset] += delta
        }
    }

    /// Applies `update` (same layout as the gradient) to the parameters.
    mutating func apply(_ update: [Float]) {
        let b1Offset = w1.count, w2Offset = b1Offset + hidden
        for i in w1.indices { w1[i] -= update[i] }
        for j in 0..<hidden {
            b1[j] -= update[b1Offset + j]
            w2[j] -= update[w2Offset + j]
        }
        b2 -= update[w2Offset + hidden]
    }
}

/// Training must not depend on the platform's random source to be reproducible: the seeded
/// SplitMix64 the bootstrap uses, with the two draws the head needs.
extension SplitMix64 {
    /// Uniform in [-1, 1).
    mutating func nextSymmetric() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }

    mutating func nextInt(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

#if canImport(Glibc)
    import Glibc
#endif
