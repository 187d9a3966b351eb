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
}
