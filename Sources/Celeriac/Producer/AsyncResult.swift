/// A handle on a sent task's outcome, read from the result backend (Celery's `AsyncResult`).
public struct AsyncResult: Sendable {
    /// The task id.
    public let id: String
    /// Where the result is stored.
    public let backend: RedisResultBackend

    /// Creates a handle for the task `id`.
    public init(id: String, backend: RedisResultBackend) {
        self.id = id
        self.backend = backend
    }

    /// The current state; PENDING when nothing is stored.
    /// - Throws: ``RedisClientError``, ``CeleryProtocolError``.
    public func state() async throws -> TaskState {
        try await backend.meta(for: id)?.state ?? .pending
    }

    /// State, info, traceback and `date_done` in one read, so that they agree (``state()`` then
    /// ``info()`` are two reads, between which a task may move on, e.g. from STARTED to PROGRESS).
    /// A PENDING meta with a `null` result when nothing is stored.
    /// - Throws: ``RedisClientError``, ``CeleryProtocolError``.
    public func meta() async throws -> TaskResultMeta {
        try await backend.meta(for: id) ?? TaskResultMeta(taskID: id, state: .pending, result: .null)
    }

    /// The stored value as Celery's `AsyncResult.info`: the result (SUCCESS), the meta of a custom
    /// state such as PROGRESS, the exception's stored form (FAILURE), or `null` (PENDING).
    /// - Throws: ``RedisClientError``, ``CeleryProtocolError``.
    public func info() async throws -> JSONValue {
        try await backend.meta(for: id)?.result ?? .null
    }

    /// Whether the task finished (SUCCESS, FAILURE or REVOKED).
    /// - Throws: ``RedisClientError``, ``CeleryProtocolError``.
    public func ready() async throws -> Bool {
        try await state().isReady
    }

    /// Whether the task finished with SUCCESS.
    /// - Throws: ``RedisClientError``, ``CeleryProtocolError``.
    public func successful() async throws -> Bool {
        try await state() == .success
    }

    /// Waits for the task to finish and returns its result, without polling.
    /// - Parameter timeout: how long to wait; `nil` waits as long as it takes.
    /// - Throws: ``TaskFailure`` when the task failed or was revoked (its exception, e.g.
    ///   `ValueError('boom')` or `TaskRevokedError('expired')`); ``CeleriacError`` with code
    ///   `timeout`; ``RedisClientError``.
    public func get(timeout: Duration? = nil) async throws -> JSONValue {
        let meta = try await backend.waitForReadyState(of: id, timeout: timeout)
        if let failure = meta.failure { throw failure }
        return meta.result
    }

    /// Waits for the task to finish and decodes its result as `type`.
    /// - Throws: as ``get(timeout:)``, and ``CeleriacError`` with code `encoding` when the result
    ///   does not decode as `type`.
    public func get<Value: Decodable>(as type: Value.Type, timeout: Duration? = nil) async throws -> Value {
        try await get(timeout: timeout).decode(as: type)
    }

    /// Deletes the stored result; the task then reads as PENDING.
    /// - Throws: ``RedisClientError``.
    public func forget() async throws {
        try await backend.forget(id)
    }
}

/// An ``AsyncResult`` whose result has a known type.
public struct TypedAsyncResult<Result: Decodable & Sendable>: Sendable {
    /// The untyped handle.
    public let untyped: AsyncResult

    /// A typed handle on `untyped` (e.g. one made from a stored task id with ``CeleriacApp/asyncResult(_:)``).
    public init(untyped: AsyncResult) {
        self.untyped = untyped
    }

    /// The task id.
    public var id: String { untyped.id }

    /// Waits for the result and decodes it as `Result`.
    /// - Throws: as ``AsyncResult/get(timeout:)``, and ``CeleriacError`` with code `encoding` when
    ///   the result does not decode as `Result`.
    public func get(timeout: Duration? = nil) async throws -> Result {
        try await untyped.get(timeout: timeout).decode(as: Result.self)
    }

    /// The current state.
    /// - Throws: as ``AsyncResult/state()``.
    public func state() async throws -> TaskState { try await untyped.state() }

    /// The stored value as Celery's `info`: the meta of a custom state such as PROGRESS, the
    /// result once SUCCESS (as JSON: decode it, or use ``get(timeout:)``), `null` while PENDING.
    /// - Throws: as ``AsyncResult/info()``.
    public func info() async throws -> JSONValue { try await untyped.info() }

    /// State, info and the rest in one read (see ``AsyncResult/meta()``).
    /// - Throws: as ``AsyncResult/meta()``.
    public func meta() async throws -> TaskResultMeta { try await untyped.meta() }

    /// Whether the task finished (SUCCESS, FAILURE or REVOKED).
    /// - Throws: as ``AsyncResult/ready()``.
    public func ready() async throws -> Bool { try await untyped.ready() }

    /// Whether the task finished with SUCCESS.
    /// - Throws: as ``AsyncResult/successful()``.
    public func successful() async throws -> Bool { try await untyped.successful() }

    /// Deletes the stored result; the task then reads as PENDING.
    /// - Throws: as ``AsyncResult/forget()``.
    public func forget() async throws { try await untyped.forget() }
}
