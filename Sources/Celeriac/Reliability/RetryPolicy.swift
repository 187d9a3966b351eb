import Foundation
import RESP

/// How an operation on Redis is tried again after it failed: the waits between tries, how long to
/// keep trying, and which errors are worth another try. Every retrying loop in Celeriac is one of
/// the presets below (the README's "Redis going away" lists which loop uses which, and why).
///
/// The decision is a pure function (``delay(after:failures:elapsed:)``): give up, or wait this
/// long and try again. ``run(_:onRetry:stopping:)`` applies it.
public struct RetryPolicy: Sendable, Hashable {
    /// The wait before each retry.
    public enum Waits: Sendable, Hashable {
        /// Capped, jittered exponential backoff.
        case exponential(ReconnectBackoff)
        /// `start`, then `step` more each time, at most `maximum` (Celery's `retry_policy`).
        case linear(start: Duration, step: Duration, maximum: Duration)

        /// The wait after `failures` consecutive failures (1 for the first).
        public func delay(afterFailures failures: Int) -> Duration {
            switch self {
            case .exponential(let backoff):
                return backoff.delay(afterFailures: failures)
            case .linear(let start, let step, let maximum):
                // Bounded before multiplying: `failures` may be any count.
                let steps = Int64(failures <= 1 ? 0 : min(failures - 1, 1_000_000))
                let grown = start + step * steps
                return max(.zero, min(maximum, grown))
            }
        }
    }

    /// How long to keep trying.
    public enum Budget: Sendable, Hashable {
        /// Until it succeeds, or the caller stops it.
        case forever
        /// At most this many retries after the first try.
        case retries(Int)
        /// Until this long after the first try.
        case deadline(Duration)
    }

    /// Which failures are worth another try.
    public enum Retryable: Sendable, Hashable {
        /// Redis is away for now and may soon be back (`Error.isTemporaryRedisFailure`): the
        /// connection failed, closed or timed out, no pooled connection came in time, or the
        /// server said it is not ready (`LOADING`, `BUSY`, ...). The operation may have run, so
        /// only for operations that are safe to run twice.
        case temporaryFailures
        /// Only failures that show nothing was sent: the connection could not be made, no pooled
        /// connection came in time, or the server refused the command for now. For operations
        /// that must not run twice (a publish).
        case nothingSent
        /// Every failure: a loop that must not end, and connects again after any (the fetch
        /// loop: a reply it cannot read is a reason to reconnect, not to stop fetching).
        case anyError

        /// Whether `error` is one of these.
        public func includes(_ error: any Error) -> Bool {
            switch self {
            case .temporaryFailures:
                return error.isTemporaryRedisFailure
            case .nothingSent:
                switch error {
                case let error as RedisClientError: return error.code == .connectionFailed || error.code == .poolExhausted
                case let error as RedisServerError: return error.isTransient
                default: return false
                }
            case .anyError:
                return !(error is CancellationError)
            }
        }
    }

    /// The waits between tries.
    public var waits: Waits
    /// How long to keep trying.
    public var budget: Budget
    /// Which errors are retried; any other is thrown at once.
    public var retryable: Retryable

    /// A policy.
    public init(waits: Waits, budget: Budget, retryable: Retryable) {
        self.waits = waits
        self.budget = budget
        self.retryable = retryable
    }

    /// Celery's `retry_policy` for publishing: `maxRetries` retries (default 3), waiting
    /// `intervalStart` (0 s), then `intervalStep` more each time (0.2 s), at most `intervalMax`
    /// (0.2 s), only when nothing was sent. A negative count means none.
    public init(
        maxRetries: Int = 3, intervalStart: Duration = .zero, intervalStep: Duration = .milliseconds(200),
        intervalMax: Duration = .milliseconds(200)
    ) {
        self.init(
            waits: .linear(start: intervalStart, step: intervalStep, maximum: intervalMax),
            budget: .retries(max(0, maxRetries)), retryable: .nothingSent)
    }

    /// Publishing tasks, retries, chain steps and callbacks: Celery's `retry_policy` defaults.
    public static let publish = RetryPolicy()

    /// The worker's writes (results, acks, chord part returns): for ever, 50 ms doubling up to
    /// 2 s, until a cold shutdown abandons them; a worker outlives any Redis outage, and these
    /// writes are safe to repeat.
    public static let workerLoop = RetryPolicy(
        waits: .exponential(ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(2))), budget: .forever,
        retryable: .temporaryFailures)

    /// The worker's fetch loop: for ever, after any error, 100 ms doubling up to 5 s (it
    /// reconnects in between; a message BRPOP popped is recorded when Redis is back).
    public static let fetchLoop = RetryPolicy(
        waits: .exponential(ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(5))), budget: .forever,
        retryable: .anyError)

    /// A chord's steps (part return, results, claim, cleanup): about a minute (40 retries, 50 ms
    /// doubling up to 2 s), then the chord is given up and its keys expire.
    public static let chordStep = RetryPolicy(
        waits: .exponential(ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(2))), budget: .retries(40),
        retryable: .temporaryFailures)

    /// Reading a result while waiting for it: every 50 ms until `deadline` (`nil`: for ever).
    public static func resultRead(until deadline: Duration?) -> RetryPolicy {
        RetryPolicy(
            waits: .linear(start: .milliseconds(50), step: .zero, maximum: .milliseconds(50)),
            budget: deadline.map { .deadline($0) } ?? .forever, retryable: .temporaryFailures)
    }

    /// The wait before trying again after `error`, the `failures`-th consecutive failure (1 for
    /// the first), `elapsed` after the first try; `nil`: give up and throw it.
    public func delay(after error: any Error, failures: Int, elapsed: Duration) -> Duration? {
        guard retryable.includes(error) else { return nil }
        let wait = waits.delay(afterFailures: failures)
        switch budget {
        case .forever:
            return wait
        case .retries(let count):
            return failures <= count ? wait : nil
        case .deadline(let limit):
            return elapsed + wait < limit ? wait : nil
        }
    }

    /// Runs `operation` until it succeeds or the policy gives up (then its last error is
    /// thrown). `onRetry` hears each failure that is retried (with the count so far) before the
    /// wait; `stopping` is asked before each retry, and a `true` throws the last error at once
    /// (a cold shutdown abandoning writes).
    /// - Throws: the operation's error the policy does not retry, or its last one;
    ///   `CancellationError` when the calling task is cancelled during a wait.
    public func run<T>(
        _ operation: () async throws -> T, onRetry: (any Error, Int) -> Void = { _, _ in },
        stopping: () -> Bool = { false }
    ) async throws -> T {
        let start = ContinuousClock.now
        var failures = 0
        while true {
            do {
                return try await operation()
            } catch {
                failures += 1
                guard !stopping(), let wait = delay(after: error, failures: failures, elapsed: .now - start) else {
                    throw error
                }
                onRetry(error, failures)
                if wait > .zero { try await Task.sleep(for: wait) }
            }
        }
    }
}

/// Celery's name for the publish policy (`retry_policy`), kept for callers of
/// `CeleriacApp(brokerURL:backendURL:resultExpires:publishRetry:)`.
public typealias PublishRetryPolicy = RetryPolicy
