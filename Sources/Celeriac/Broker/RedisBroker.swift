import RESP
import Synchronization

/// Publishes task messages to Redis queues the way kombu does, so that Python workers and Celeriac
/// workers consume them alike.
///
/// Each message is `LPUSH`ed to its queue's list for its priority step. The first time a queue is
/// used, its binding (`_kombu.binding.<queue>`, and the permanent set kombu 5.7 adds) is declared
/// first (one round trip more, once per queue), because kombu's restore of unacked messages looks
/// the binding up again.
public final class RedisBroker: Sendable {
    /// The connections used for publishing.
    public let pool: RedisConnectionPool
    /// How publishing retries on connection errors and on `LOADING`-like refusals.
    public let retryPolicy: RetryPolicy
    /// The largest message sent (``TaskMessage/defaultMaximumSize`` by default, the workers'
    /// default limit too): a message whose arguments alone pass it is refused before sending.
    public let maximumMessageSize: Int
    private let declaredQueues = Mutex<Set<String>>([])

    /// Creates a broker publishing through `pool`.
    public init(
        pool: RedisConnectionPool, retryPolicy: RetryPolicy = .publish,
        maximumMessageSize: Int = TaskMessage.defaultMaximumSize
    ) {
        self.pool = pool
        self.retryPolicy = retryPolicy
        self.maximumMessageSize = max(1, maximumMessageSize)
    }

    /// Publishes one message to the queue named by its routing key.
    /// - Throws: ``RedisClientError`` when Redis stayed unreachable through the retry policy;
    ///   ``RedisServerError`` when Redis refused (e.g. the key holds another type), or still
    ///   refused for now (`LOADING`) after the retries.
    public func publish(_ message: TaskMessage) async throws {
        try await publish([message])
    }

    /// Publishes messages in one pipeline (one round trip), in order. The first publish to a queue
    /// declares its binding first, in a round trip of its own.
    /// - Throws: as ``publish(_:)``; ``CeleriacError`` `messageTooLarge` (nothing is sent) when a
    ///   message's arguments pass ``maximumMessageSize``. A failure may leave some of the messages published; retries
    ///   resend all of them only when no reply at all arrived (a connection error before the
    ///   pipeline ran), and otherwise only those Redis refused for now (`LOADING`).
    public func publish(_ messages: [TaskMessage]) async throws {
        guard !messages.isEmpty else { return }
        for index in messages.indices {
            let size = messages[index].minimumEncodedSize(stoppingAfter: maximumMessageSize)
            guard size <= maximumMessageSize else {
                throw CeleriacError(
                    .messageTooLarge,
                    "task \(messages[index].taskName) (\(messages[index].id)): its arguments pass the maximum message size of "
                        + "\(maximumMessageSize) bytes; pass large data by reference (a path or key) instead")
            }
        }
        var queues: Set<String> = []
        var lastQueue: String?
        for index in messages.indices {  // (not `for in`, which copies each message)
            let queue = messages[index].queue
            if queue != lastQueue { queues.insert(queue) }
            lastQueue = queue
        }
        let newQueues = declaredQueues.withLock { declared in queues.filter { declared.insert($0).inserted } }
        do {
            if !newQueues.isEmpty {
                let declarations = newQueues.flatMap { queue in
                    let member = QueueKeys.bindingMember(queue: queue, exchange: queue, routingKey: queue)
                    return [
                        RESPCommand("SADD", QueueKeys.bindingKey(exchange: queue), member),
                        RESPCommand("SADD", QueueKeys.permanentBindingKey(exchange: queue), member),
                    ]
                }
                try await sendRetrying(declarations)
            }
            // Each message writes its own LPUSH (see below) as the connection writes the pipeline.
            try await sendRetrying(messages)
        } catch {
            // The bindings may not be there: declare them again next time.
            declaredQueues.withLock { $0.subtract(newQueues) }
            throw error
        }
    }

    /// Sends `commands` in one pipeline, retrying as the policy says: all of them after a
    /// connection error before the pipeline ran, and only the ones Redis refused for now
    /// (``RedisServerError/isTransient``: `LOADING` right after a restart) after such refusals,
    /// as kombu does (redis-py's `BusyLoadingError` is a connection error).
    /// - Throws: the first other server error; the last error when the retries run out.
    private func sendRetrying<Command: RESPCommandEncodable>(_ commands: [Command]) async throws {
        var pending = commands
        try await retryPolicy.run {
            let replies = try await pool.pipeline(pending)
            guard replies.contains(where: { $0.serverError != nil }) else { return }
            if let error = replies.lazy.compactMap(\.serverError).first(where: { !$0.isTransient }) { throw error }
            let refused = zip(pending, replies).filter { $0.1.serverError != nil }
            pending = refused.map(\.0)
            if let error = refused.first?.1.serverError { throw error }
        }
    }
}

extension TaskMessage: RESPCommandEncodable {
    /// Writes `LPUSH <queue list> <envelope>`: the command that publishes the message to its queue's
    /// list for its priority (kombu's layout), the envelope encoded straight into the pipeline's
    /// buffer. A pipeline of messages is thus encoded as it is sent, and Redis stores the first
    /// while later ones are encoded.
    public func write(to writer: inout RESPCommandWriter) {
        writer.beginCommand(argumentCount: 3)
        writer.writeArgument("LPUSH")
        writer.writeArgument(QueueKeys.listKey(queue: queue, priority: priority))
        writer.writeArgument(self)
    }
}

extension TaskMessage: RESPArgument {
    /// Appends the envelope as pushed onto a queue list (``encode(into:)``), so that a command
    /// can carry a message without an intermediate byte array: `RESPCommand("LPUSH", key, message)`.
    public func appendRESPBytes(to buffer: inout [UInt8]) {
        encode(into: &buffer)
    }
}
