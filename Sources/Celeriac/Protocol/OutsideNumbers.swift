/// Checked conversions for numbers read from outside the process: message headers, signature
/// options, control arguments, Redis state. Any of them may be NaN, infinite, negative or huge;
/// `Int(double)`, `Duration.seconds(x)` and `+` on them trap. Convert through these instead, and
/// treat `nil` as bad input (refuse it with the reason).
public enum OutsideNumber {
    /// The longest span Celeriac takes from outside: 100 years. Longer countdowns, expiries and time
    /// limits cannot be meant, and converting them to milliseconds would overflow.
    public static let maximumSeconds: Double = 3_155_760_000

    /// The range ``duration(seconds:)`` accepts, as error messages name it.
    public static let secondsRange = "finite seconds in 0...\(Int(maximumSeconds))"

    /// `seconds` as a duration when it is finite and in `0...maximumSeconds`; `nil` otherwise.
    public static func duration(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0, seconds <= maximumSeconds else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// A countdown as Celery reads one: negative means "now" (0); `nil` when NaN, infinite or
    /// longer than ``maximumSeconds``.
    public static func countdown(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds <= maximumSeconds else { return nil }
        return duration(seconds: max(0, seconds))
    }

    /// `value` as an `Int` when it is a whole number in `range`; `nil` otherwise.
    public static func integer(_ value: Double, in range: ClosedRange<Int>) -> Int? {
        guard let whole = Int(exactly: value), range.contains(whole) else { return nil }
        return whole
    }

    /// `duration` in whole milliseconds, held in `0...maximumSeconds` (for Redis arguments such
    /// as `PX`; a duration of ours may still be out of range when a caller passes one).
    public static func milliseconds(_ duration: Duration) -> Int {
        milliseconds(seconds: duration.timeInterval)
    }

    /// `seconds` in whole milliseconds, held in `0...maximumSeconds` (NaN is 0).
    public static func milliseconds(seconds: Double) -> Int {
        guard !seconds.isNaN else { return 0 }
        return Int((min(max(seconds, 0), maximumSeconds) * 1000).rounded())
    }
}

extension Int {
    /// `self + other`, held at `.max` / `.min` instead of overflowing: for counts read back from
    /// Redis or a peer, where anything may have written them.
    public func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self * other`, held at `.max` / `.min` instead of overflowing.
    public func multipliedSaturated(by other: Int) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }

    /// ``addingSaturated(_:)`` as a function, for `merge(_:uniquingKeysWith:)` and `reduce`.
    static func saturated(_ a: Int, _ b: Int) -> Int { a.addingSaturated(b) }
}
