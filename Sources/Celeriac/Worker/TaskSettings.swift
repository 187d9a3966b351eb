/// How a worker runs one registered task: Celery's task attributes.
public struct TaskSettings: Sendable {
    /// Ack after the task finished and its result is stored (`acks_late`), so that a worker that
    /// dies mid-task leaves it to be delivered again. `nil`: the worker's default (early ack).
    public var acksLate: Bool?
    /// Store no state or result (`ignore_result`). A message's own `ignore_result` header wins.
    public var ignoreResult: Bool
    /// Store STARTED when the task starts (`track_started`).
    public var trackStarted: Bool
    /// Retries allowed by ``TaskContext/retry(countdown:maxRetries:error:)`` and ``autoretry``
    /// before the task fails (`max_retries`, default 3); `nil` for no limit.
    public var maxRetries: Int?
    /// The countdown of a retry that names none (`default_retry_delay`, 180 s).
    public var defaultRetryDelay: Duration
    /// Errors that retry the task automatically (`autoretry_for` with its backoff settings).
    public var autoretry: AutoRetryPolicy?
    /// At most this many starts per time unit on each worker (`rate_limit`, e.g. `"10/s"`).
    public var rateLimit: RateLimit?
    /// Cancel the task cooperatively after this long; it sees ``SoftTimeLimitExceeded``. A
    /// message's `timelimit` header wins.
    public var softTimeLimit: Duration?
    /// Fail the task with `TimeLimitExceeded` after this long, whether or not it stopped.
    public var timeLimit: Duration?

    /// Celery's defaults.
    public init(
        acksLate: Bool? = nil, ignoreResult: Bool = false, trackStarted: Bool = false, maxRetries: Int? = 3,
        defaultRetryDelay: Duration = .seconds(180), autoretry: AutoRetryPolicy? = nil, rateLimit: RateLimit? = nil,
        softTimeLimit: Duration? = nil, timeLimit: Duration? = nil
    ) {
        self.acksLate = acksLate
        self.ignoreResult = ignoreResult
        self.trackStarted = trackStarted
        self.maxRetries = maxRetries
        self.defaultRetryDelay = defaultRetryDelay
        self.autoretry = autoretry
        self.rateLimit = rateLimit
        self.softTimeLimit = softTimeLimit
        self.timeLimit = timeLimit
    }
}

/// Automatic retries on chosen errors (Celery's `autoretry_for`, `retry_backoff`,
/// `retry_backoff_max`, `retry_jitter`).
public struct AutoRetryPolicy: Sendable {
    /// Whether an error retries the task.
    public var matches: @Sendable (any Error) -> Bool
    /// With backoff, the countdown of retry n is `min(backoffMax, backoff × 2ⁿ)`; without, the
    /// task's `defaultRetryDelay`.
    public var backoff: Duration?
    /// The longest backoff countdown (600 s).
    public var backoffMax: Duration
    /// Draw the countdown uniformly from 0...countdown ("full jitter"), so that many failing tasks
    /// do not retry in lockstep.
    public var jitter: Bool

    /// Retries errors for which `matches` holds.
    public init(
        backoff: Duration? = .seconds(1), backoffMax: Duration = .seconds(600), jitter: Bool = true,
        matches: @escaping @Sendable (any Error) -> Bool
    ) {
        self.matches = matches
        self.backoff = backoff
        self.backoffMax = backoffMax
        self.jitter = jitter
    }

    /// Retries errors of the given types.
    public init(
        for errorTypes: [any Error.Type], backoff: Duration? = .seconds(1), backoffMax: Duration = .seconds(600),
        jitter: Bool = true
    ) {
        let names = errorTypes.map { ObjectIdentifier($0) }
        self.init(backoff: backoff, backoffMax: backoffMax, jitter: jitter) { error in
            names.contains(ObjectIdentifier(type(of: error)))
        }
    }

    /// The countdown before retry number `retries + 1`, Celery's `get_exponential_backoff_interval`.
    public func countdown(
        afterRetries retries: Int, defaultDelay: Duration,
        random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) -> Duration {
        guard let backoff else { return defaultDelay }
        let base = backoff.timeInterval * pow2(min(retries, 62))
        let capped = min(backoffMax.timeInterval, base)
        let seconds = jitter ? random(0...capped) : capped
        return OutsideNumber.countdown(seconds: seconds) ?? .seconds(OutsideNumber.maximumSeconds)
    }

    private func pow2(_ exponent: Int) -> Double { Double(sign: .plus, exponent: exponent, significand: 1) }
}
