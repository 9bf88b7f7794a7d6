/// Whether the custom model is better than the base model, decided like a statistician:
/// per-prompt F1 differences, a paired bootstrap over prompts for a confidence interval and
/// the share of resamples in which the custom model wins, and a minimum number of prompts.
public struct EvaluationDecision: Sendable, Equatable, Codable {
    public enum Verdict: String, Sendable, Codable { case keep, reject, inconclusive }

    public var verdict: Verdict
    public var reason: String
    public var prompts: Int
    public var meanBase: Double
    public var meanCustom: Double
    public var meanDelta: Double
    public var confidenceLow: Double
    public var confidenceHigh: Double
    /// Share of bootstrap resamples in which the custom model's mean F1 is higher.
    public var winShare: Double
    public var wins: Int
    public var ties: Int
    public var losses: Int
}

public struct DecisionRule: Sendable {
    public var minImprovement: Double = 0
    public var confidence: Double = 0.95
    public var resamples = 10_000
    public var minPrompts = 20
    public var seed: UInt64 = 0x5EED
    /// Per-prompt differences smaller than this count as ties.
    public var tieTolerance: Double = 1e-4

    public init(minImprovement: Double = 0, confidence: Double = 0.95, resamples: Int = 10_000, minPrompts: Int = 20) {
        self.minImprovement = minImprovement
        self.confidence = confidence
        self.resamples = resamples
        self.minPrompts = minPrompts
    }

    /// `base[i]` and `custom[i]` are the F1 of the same prompt; prompts either model failed
    /// to answer are left out by the caller and counted in the reason there.
    public func decide(base: [Double], custom: [Double]) -> EvaluationDecision {
        precondition(base.count == custom.count)
        let n = base.count
        let deltas = zip(custom, base).map { $0 - $1 }
        let mean: ([Double]) -> Double = { $0.isEmpty ? 0 : $0.reduce(0, +) / Double($0.count) }
        let wins = deltas.filter { $0 > tieTolerance }.count
        let losses = deltas.filter { $0 < -tieTolerance }.count
        var decision = EvaluationDecision(
            verdict: .inconclusive, reason: "", prompts: n, meanBase: mean(base), meanCustom: mean(custom),
            meanDelta: mean(deltas), confidenceLow: 0, confidenceHigh: 0, winShare: 0,
            wins: wins, ties: n - wins - losses, losses: losses)
        guard n >= minPrompts, n > 0 else {
            decision.reason = "only \(n) usable prompts, fewer than the \(minPrompts) a decision needs; nothing is kept"
            return decision
        }
        var rng = SplitMix64(seed: seed)
        var means: [Double] = []
        means.reserveCapacity(resamples)
        var customWins = 0
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n { sum += deltas[Int(rng.next() % UInt64(n))] }
            let m = sum / Double(n)
            means.append(m)
            if m > 0 { customWins += 1 }
        }
        means.sort()
        let tail = (1 - confidence) / 2
        decision.confidenceLow = means[min(resamples - 1, Int(Double(resamples) * tail))]
        decision.confidenceHigh = means[min(resamples - 1, Int(Double(resamples) * (1 - tail)))]
        decision.winShare = Double(customWins) / Double(resamples)
        let delta = String(format: "%+.4f", decision.meanDelta)
        let share = String(format: "%.1f%%", decision.winShare * 100)
        if decision.meanDelta >= minImprovement && decision.winShare >= confidence {
            decision.verdict = .keep
            decision.reason = "mean F1 \(delta) (at least \(minImprovement)) and custom wins in \(share) of resamples (at least \(confidence * 100)%)"
        } else if decision.meanDelta < minImprovement {
            decision.verdict = .reject
            decision.reason = "mean F1 \(delta) is below the required improvement of \(minImprovement)"
        } else {
            decision.verdict = .reject
            decision.reason = "mean F1 \(delta) but custom wins in only \(share) of resamples (needs \(confidence * 100)%): within the noise"
        }
        return decision
    }
}

/// A small, fast, seedable generator: the same seed gives the same decision on every run.
public struct SplitMix64: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
