import Foundation
import RESP
import Synchronization

/// The producer side of Celeriac: sends tasks to a Celery-compatible Redis broker and reads their
/// results, for Celeriac and Python Celery workers alike.
///
/// ```swift
/// let app = try CeleriacApp(brokerURL: "redis://127.0.0.1:6379/0", backendURL: "redis://127.0.0.1:6379/1")
/// let result = try await app.send("celeriac.examples.add", args: [2, 3])
/// print(try await result.get(timeout: .seconds(10)))   // 5
/// ```
public final class CeleriacApp: Sendable {
    /// Where tasks are published.
    public let broker: RedisBroker
    /// Where results are read.
    public let backend: RedisResultBackend
    /// This producer's node name, `gen<pid>@<host>` (the `origin` header).
    public let origin: String
    /// This producer's reply "oid" (the `reply_to` property; Celery always sets one).
    public let replyTo: String
    /// Whether a `task-sent` event is published for each task sent (Celery's
    /// `task_send_sent_event`), for Flower and `celery events`.
    public let sendsTaskSentEvents: Bool
    /// Default options by task name (Celery's `task_routes`, and more than routing: any field
    /// ``TaskOptions/filling(from:)`` fills), under each send's own options, e.g.
    /// `["reports.build": TaskOptions(queue: "reports", priority: 3)]`. Applied to tasks sent by
    /// name or type and to messages built with ``message(_:args:kwargs:options:)``; not to canvas
    /// steps, whose signatures carry their options.
    public let routes: [String: TaskOptions]
    private let eventClock = Mutex(0)

    /// Connects lazily to the broker and result backend (the backend defaults to the broker).
    /// - Throws: ``RedisClientError`` with code `invalidConfiguration` for a malformed URL.
    public init(
        brokerURL: String, backendURL: String? = nil, pool: RedisConnectionPool.Configuration = .init(),
        resultExpires: Duration? = .seconds(86_400), publishRetry: RetryPolicy = .publish,
        sendTaskSentEvents: Bool = false, routes: [String: TaskOptions] = [:]
    ) throws {
        let brokerPool = try RedisConnectionPool(url: brokerURL, configuration: pool)
        let backendPool = try backendURL.map { try RedisConnectionPool(url: $0, configuration: pool) } ?? brokerPool
        self.broker = RedisBroker(pool: brokerPool, retryPolicy: publishRetry)
        self.backend = RedisResultBackend(pool: backendPool, resultExpires: resultExpires)
        self.origin = "gen\(ProcessInfo.processInfo.processIdentifier)@\(ProcessInfo.processInfo.hostName)"
        self.replyTo = CeleryID.random()
        self.sendsTaskSentEvents = sendTaskSentEvents
        self.routes = routes
    }

    /// Builds the message for a task call, as ``send(_:args:kwargs:options:)`` would publish it
    /// (`options` filled from the task's ``routes`` entry).
    public func message(
        _ taskName: String, args: [JSONValue] = [], kwargs: JSONObject = [:], options: TaskOptions = TaskOptions()
    ) -> TaskMessage {
        TaskMessage(
            task: taskName, args: args, kwargs: kwargs, options: options.filling(from: routes[taskName]),
            origin: origin, replyTo: replyTo)
    }

    /// Sends a task by name with JSON arguments.
    /// - Throws: ``RedisClientError`` when the broker stays unreachable through the publish retry
    ///   policy; ``RedisServerError``.
    @discardableResult
    public func send(
        _ taskName: String, args: [JSONValue] = [], kwargs: JSONObject = [:], options: TaskOptions = TaskOptions()
    ) async throws -> AsyncResult {
        let message = message(taskName, args: args, kwargs: kwargs, options: options)
        try await broker.publish(message)
        await publishSentEvents(for: [message])
        return AsyncResult(id: message.id, backend: backend)
    }

    /// Sends a typed task, `options` over the app's ``routes`` over ``CeleriacTask/defaultOptions``.
    /// - Throws: ``CeleriacError`` with code `encoding` when the arguments do not encode to a JSON
    ///   object or array; otherwise as ``send(_:args:kwargs:options:)``.
    @discardableResult
    public func send<Definition: CeleriacTask>(
        _ task: Definition.Type, _ arguments: Definition.Arguments, options: TaskOptions = TaskOptions()
    ) async throws -> TypedAsyncResult<Definition.Result> {
        let (args, kwargs) = try Self.callArguments(arguments, of: task)
        let layered = options.filling(from: routes[Definition.name]).filling(from: Definition.defaultOptions)
        let result = try await send(Definition.name, args: args, kwargs: kwargs, options: layered)
        return TypedAsyncResult(untyped: result)
    }

    /// Publishes many messages (built with ``message(_:args:kwargs:options:)``) in one pipeline.
    /// - Throws: as ``RedisBroker/publish(_:)-([TaskMessage])``.
    @discardableResult
    public func sendMany(_ messages: [TaskMessage]) async throws -> [AsyncResult] {
        try await broker.publish(messages)
        await publishSentEvents(for: messages)
        return messages.map { AsyncResult(id: $0.id, backend: backend) }
    }

    /// Publishes `task-sent` events for messages just sent, when enabled. Best effort, as in
    /// Celery: the tasks are sent already, so a failure here is not reported.
    func publishSentEvents(for messages: [TaskMessage]) async {
        guard sendsTaskSentEvents, !messages.isEmpty else { return }
        let database = broker.pool.redis.database
        let commands = messages.map { message -> RESPCommand in
            let queue = message.queue
            let fields: JSONObject = [
                "uuid": .string(message.id), "root_id": message.headers["root_id"] ?? .null,
                "parent_id": message.headers["parent_id"] ?? .null, "name": .string(message.taskName),
                "args": message.headers["argsrepr"] ?? .null, "kwargs": message.headers["kwargsrepr"] ?? .null,
                "retries": .integer(message.retries), "eta": message.headers["eta"] ?? .null,
                "expires": message.headers["expires"] ?? .null, "queue": .string(queue), "exchange": "",
                "routing_key": .string(queue),
            ]
            let clock = eventClock.withLock { clock in
                clock += 1
                return clock
            }
            let event = CeleryEvent(type: "task-sent", fields: fields, hostname: origin, clock: clock)
            return RESPCommand("PUBLISH", event.channel(database: database), event.encoded())
        }
        _ = try? await broker.pool.pipeline(commands)
    }

    /// A handle on the result of the task `id` (sent by anyone).
    public func asyncResult(_ id: String) -> AsyncResult {
        AsyncResult(id: id, backend: backend)
    }

    /// Closes the subscriber and the connection pools.
    public func close() async {
        backend.close()
        await broker.pool.close()
        if backend.pool !== broker.pool { await backend.pool.close() }
    }

    /// Typed arguments as Celery's `(args, kwargs)`: an object becomes kwargs, an array args.
    static func callArguments<Definition: CeleriacTask>(
        _ arguments: Definition.Arguments, of task: Definition.Type
    ) throws -> ([JSONValue], JSONObject) {
        switch try JSONValue(encoding: arguments) {
        case .object(let kwargs): return ([], kwargs)
        case .array(let args): return (args, [:])
        case .null: return ([], [:])
        case let single: return ([single], [:])
        }
    }
}
