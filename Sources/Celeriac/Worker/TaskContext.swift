import Foundation
import Synchronization

/// What a running task knows about itself, and what it can ask of the worker: Celery's
/// `self.request`, `self.update_state` and `self.retry`.
public final class TaskContext: Sendable {
    /// Why a task was asked to stop.
    public enum StopReason: Sendable, Hashable {
        /// Its soft time limit passed.
        case softTimeLimit(Duration)
        /// It was revoked with `terminate`.
        case revoked
        /// The worker is shutting down at once.
        case shutdown
    }

    /// The message being run.
    public let message: TaskMessage
    /// The queue it came from.
    public let queue: String
    /// The worker's node name (`name@host`).
    public let hostname: String
    /// The worker's app: its broker and backend connections (Celery's `self.app`), for tasks that
    /// read or write Redis themselves.
    public let app: CeleriacApp
    private let stateWriter: @Sendable (TaskState, JSONValue) async throws -> Void
    private let stop = Mutex<StopReason?>(nil)

    init(
        message: TaskMessage, queue: String, hostname: String, app: CeleriacApp,
        stateWriter: @escaping @Sendable (TaskState, JSONValue) async throws -> Void
    ) {
        self.message = message
        self.queue = queue
        self.hostname = hostname
        self.app = app
        self.stateWriter = stateWriter
    }

    /// The task id.
    public var id: String { message.id }
    /// The task name.
    public var taskName: String { message.taskName }
    /// How many times this task was retried before this run.
    public var retries: Int { message.retries }
    /// All message headers, custom ones included.
    public var headers: JSONObject { message.headers }
    /// The workflow's first task (`root_id`).
    public var rootID: String? { message.headers["root_id"]?.stringValue }
    /// The task that sent this one (`parent_id`).
    public var parentID: String? { message.headers["parent_id"]?.stringValue }
    /// The group this task belongs to.
    public var groupID: String? { message.headers["group"]?.stringValue }

    /// Stores a state with its meta and publishes it to waiters, e.g.
    /// `updateState("PROGRESS", meta: ["current": 3, "total": 10])` (Celery's `update_state`).
    /// Returns once it is stored. Nothing is stored for tasks that ignore results.
    /// - Throws: ``RedisClientError`` when the backend stays unreachable.
    public func updateState(_ state: TaskState, meta: JSONValue = .null) async throws {
        try await stateWriter(state, meta)
    }

    /// The request to run this task again later with the same id (Celery's `self.retry`); throw it:
    /// `throw context.retry(countdown: .seconds(5), error: error)`.
    /// - Parameters:
    ///   - countdown: the wait; the task's `defaultRetryDelay` when `nil`.
    ///   - maxRetries: the task's limit by default; `5` (or `.limited(5)`) or `.unlimited` instead.
    ///   - error: the cause, stored with RETRY and raised as the failure when no retry is left.
    public func retry(
        countdown: Duration? = nil, maxRetries: RetryLimit = .taskDefault, error: (any Error)? = nil
    ) -> TaskRetryRequest {
        TaskRetryRequest(countdown: countdown, maxRetries: maxRetries, error: error)
    }

    /// Why the worker asked the task to stop, if it did. The task's Swift `Task` is cancelled too.
    public var stopReason: StopReason? { stop.withLock { $0 } }

    /// Throws when the task should stop: ``SoftTimeLimitExceeded`` after its soft time limit,
    /// `CancellationError` when revoked or at shutdown. Call it between steps of long work.
    public func checkCancellation() throws {
        switch stopReason {
        case .softTimeLimit(let limit)?: throw SoftTimeLimitExceeded(limit: limit)
        case .revoked?, .shutdown?: throw CancellationError()
        case nil: try Task.checkCancellation()
        }
    }

    /// Records why the task is being stopped (first reason wins).
    func requestStop(_ reason: StopReason) {
        stop.withLock { if $0 == nil { $0 = reason } }
    }
}
