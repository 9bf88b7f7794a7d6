import FinetunedTime
import Foundation

/// Waiting between polls and between retries: exponential with jitter, so a thousand
/// workflows started together do not poll in lockstep, and a `Retry-After` from the service
/// is honoured over our own guess.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double = 2
    /// ± this share of the delay, drawn uniformly.
    public var jitter: Double = 0.2

    public init(initial: Duration, maximum: Duration, multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The delay before try `attempt + 1` (attempt 0 waits about `initial`).
    public func delay(attempt: Int, retryAfter: Duration? = nil, unit: Double = Double.random(in: 0..<1)) -> Duration {
        // Multiplied out rather than `pow`: libm's pow and its tables were 144 KiB of code a
        // daemon kept resident after its first poll, for at most 60 multiplications here.
        // Worked in seconds: a `Duration` scales by whole numbers only.
        var base = initial.seconds
        let cap = maximum.seconds
        for _ in 0..<min(max(attempt, 0), 60) where base < cap { base *= multiplier }
        base = min(cap, base)
        let jittered = Duration.fractionalSeconds(base * (1 - jitter + 2 * jitter * unit))
        guard let retryAfter else { return jittered }
        return max(jittered, retryAfter)
    }
}
