/// Seconds as a `Double`, for the edges where a number is shown or read (the configuration,
/// messages, the journal); inside, the code keeps `Duration`.
extension Duration {
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// Clamped to 0…10⁹ s (NaN is 0): `Int64(_:)` traps on what does not fit.
    public static func fractionalSeconds(_ value: Double) -> Duration {
        let bounded = value.isNaN ? 0 : min(max(0, value), 1e9)
        return .nanoseconds(Int64(bounded * 1e9))
    }
}
