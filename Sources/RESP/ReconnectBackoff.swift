import Foundation

/// Capped, jittered exponential backoff between reconnection attempts.
///
/// The n-th consecutive failure waits `min(maximum, initial * multiplier^(n-1))`, of which a random
/// fraction up to `jitter` is taken off, so that many clients do not reconnect in lock step.
public struct ReconnectBackoff: Sendable, Hashable {
    /// The delay after the first failure.
    public var initial: Duration
    /// The cap on any delay.
    public var maximum: Duration
    /// The growth factor per consecutive failure.
    public var multiplier: Double
    /// The largest fraction (0...1) randomly taken off each delay.
    public var jitter: Double

    /// Creates a backoff policy.
    public init(
        initial: Duration = .milliseconds(50),
        maximum: Duration = .seconds(2),
        multiplier: Double = 2,
        jitter: Double = 0.5
    ) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = max(1, multiplier)
        self.jitter = min(1, max(0, jitter))
    }

    /// 50 ms doubling up to 2 s, with up to half of each delay taken off at random.
    public static let standard = ReconnectBackoff()

    /// The delay before the next attempt after `failures` consecutive failures (1 for the first).
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let exponent = Double(min(failures - 1, 62))
        let uncapped = initial.secondsValue * pow(multiplier, exponent)
        let capped = min(maximum.secondsValue, uncapped)
        let jittered = capped * (1 - Double.random(in: 0...jitter))
        return .milliseconds(Int64((jittered * 1000).rounded()))
    }
}
