import Foundation
import Synchronization

/// A task rate limit as Celery writes it: `"10/s"`, `"100/m"`, `"5/h"`, or a bare number
/// (per second).
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Starts allowed per ``interval``.
    public var count: Double
    /// The time unit.
    public var interval: Duration

    /// A limit of `count` starts per `interval`.
    public init(count: Double, per interval: Duration) {
        self.count = count
        self.interval = interval
    }

    /// Parses `"10/s"`, `"100/m"`, `"5/h"` or `"10"`.
    /// - Throws: ``CeleriacError`` with code `invalidConfiguration` for anything else.
    public init(parsing text: String) throws {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let count = Double(parts[0]), count.isFinite, count > 0 else {
            throw CeleriacError(
                .invalidConfiguration, "rate limit '\(text)' is not '<positive number>[/s|/m|/h]', e.g. '10/s'")
        }
        guard count <= Self.maximumCount else {
            throw CeleriacError(.invalidConfiguration, "rate limit '\(text)' allows more than \(Int(Self.maximumCount)) starts per unit")
        }
        let unit = parts.count == 2 ? parts[1] : "s"
        let interval: Duration
        switch unit {
        case "s": interval = .seconds(1)
        case "m": interval = .seconds(60)
        case "h": interval = .seconds(3600)
        default:
            throw CeleriacError(.invalidConfiguration, "rate limit '\(text)' has unit '\(unit)'; use s, m or h")
        }
        guard interval.timeInterval / count <= OutsideNumber.maximumSeconds else {
            throw CeleriacError(.invalidConfiguration, "rate limit '\(text)' spaces starts more than 100 years apart")
        }
        self.init(count: count, per: interval)
    }

    /// The most starts per unit a limit may allow: closer spacing than a nanosecond is no limit.
    static let maximumCount = 1e9

    /// The time between two starts, held in a nanosecond to 100 years (a limit built in code may
    /// hold any count).
    public var spacing: Duration {
        let seconds = interval.timeInterval / count
        guard seconds.isFinite, seconds >= 1e-9 else { return .nanoseconds(1) }
        return .milliseconds(1) * (min(seconds, OutsideNumber.maximumSeconds) * 1000)
    }

    public var description: String {
        let unit = interval == .seconds(1) ? "s" : interval == .seconds(60) ? "m" : "h"
        let number = count.rounded() == count && abs(count) < 1e15 ? String(Int(count)) : String(count)
        return "\(number)/\(unit)"
    }
}

/// Spaces task starts to a ``RateLimit`` (a token bucket holding one token, as Celery's).
final class RateLimiter: Sendable {
    private let spacing: Duration
    private let nextStart = Mutex<ContinuousClock.Instant?>(nil)

    init(_ limit: RateLimit) {
        self.spacing = limit.spacing
    }

    /// Waits for this start's turn.
    /// - Throws: `CancellationError` when cancelled while waiting.
    func acquire() async throws {
        let now = ContinuousClock.now
        let turn = nextStart.withLock { next -> ContinuousClock.Instant in
            let turn = max(next ?? now, now)
            next = turn + spacing
            return turn
        }
        if turn > now { try await Task.sleep(until: turn, clock: .continuous) }
    }
}
