import RESP
import Synchronization

/// Publishes task messages to Redis queues the way kombu does, so that Python workers and Celeriac
/// workers consume them alike.
///
/// Each message is `LPUSH`ed to its queue's list for its priority step. The first time a queue is
/// used, its binding (`_kombu.binding.<queue>`, and the permanent set kombu 5.7 adds) is declared in
/// the same round trip, because kombu's restore of unacked messages looks the binding up again.
public final class RedisBroker: Sendable {
    /// The connections used for publishing.
    public let pool: RedisConnectionPool
    /// How publishing retries on connection errors.
    public let retryPolicy: PublishRetryPolicy
    private let declaredQueues = Mutex<Set<String>>([])

    /// Creates a broker publishing through `pool`.
    public init(pool: RedisConnectionPool, retryPolicy: PublishRetryPolicy = PublishRetryPolicy()) {
        self.pool = pool
        self.retryPolicy = retryPolicy
    }

    /// Publishes one message to the queue named by its routing key.
    /// - Throws: ``RedisClientError`` when Redis stayed unreachable through the retry policy;
    ///   ``RedisServerError`` when Redis refused (e.g. the key holds another type).
    public func publish(_ message: TaskMessage) async throws {
        try await publish([message])
    }

    /// Publishes messages in one pipeline (one round trip), in order.
    /// - Throws: as ``publish(_:)``. A failure may leave some of the messages published; retries
    ///   resend only when no reply at all arrived (a connection error before the pipeline ran).
    public func publish(_ messages: [TaskMessage]) async throws {
        guard !messages.isEmpty else { return }
        var commands: [RESPCommand] = []
        commands.reserveCapacity(messages.count + 2)
        let queues = messages.map { $0.routingKey ?? TaskOptions.defaultQueue }
        let newQueues = declaredQueues.withLock { declared -> [String] in
            var new: [String] = []
            for queue in queues where declared.insert(queue).inserted { new.append(queue) }
            return new
        }
        for queue in newQueues {
            let member = QueueKeys.bindingMember(queue: queue, exchange: queue, routingKey: queue)
            commands.append(RESPCommand("SADD", QueueKeys.bindingKey(exchange: queue), member))
            commands.append(RESPCommand("SADD", QueueKeys.permanentBindingKey(exchange: queue), member))
        }
        for (message, queue) in zip(messages, queues) {
            commands.append(RESPCommand("LPUSH", QueueKeys.listKey(queue: queue, priority: message.priority), message.encoded()))
        }
        do {
            let replies = try await retryPolicy.run { try await self.pool.pipeline(commands) }
            if let error = replies.lazy.compactMap(\.serverError).first { throw error }
        } catch {
            // The bindings may not be there: declare them again next time.
            declaredQueues.withLock { $0.subtract(newQueues) }
            throw error
        }
    }
}

/// How a publish is retried when Redis cannot be reached (Celery's `retry_policy`).
public struct PublishRetryPolicy: Sendable, Hashable {
    /// Retries after the first attempt; 0 disables retrying.
    public var maxRetries: Int
    /// The wait before the first retry.
    public var intervalStart: Duration
    /// Added to the wait after each retry.
    public var intervalStep: Duration
    /// The longest wait.
    public var intervalMax: Duration

    /// Celery's defaults: 3 retries, waiting 0 s, then 0.2 s more each time, at most 0.2 s.
    public init(
        maxRetries: Int = 3, intervalStart: Duration = .zero, intervalStep: Duration = .milliseconds(200),
        intervalMax: Duration = .milliseconds(200)
    ) {
        self.maxRetries = max(0, maxRetries)
        self.intervalStart = intervalStart
        self.intervalStep = intervalStep
        self.intervalMax = intervalMax
    }

    /// Runs `operation`, retrying it on connection errors (not on server errors or timeouts of a
    /// command that may have run).
    func run<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        var wait = intervalStart
        var attempt = 0
        while true {
            do {
                return try await operation()
            } catch let error as RedisClientError
                where attempt < maxRetries && (error.code == .connectionFailed || error.code == .poolExhausted)
            {
                attempt += 1
                if wait > .zero { try await Task.sleep(for: wait) }
                wait = min(intervalMax, wait + intervalStep)
            }
        }
    }
}
