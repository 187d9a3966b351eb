/// A chord's outcome: the body's result, and the header group whose results feed it.
public struct ChordResult: Sendable {
    /// The body's result (a chain body's last step).
    public let body: AsyncResult
    /// The header tasks' results.
    public let header: GroupResult

    /// A chord's outcome from its body's and header's handles (e.g. rebuilt from stored ids).
    public init(body: AsyncResult, header: GroupResult) {
        self.body = body
        self.header = header
    }

    /// Waits for the body's result. A failed header task fails the body with `ChordError`.
    /// - Throws: as ``AsyncResult/get(timeout:)``.
    public func get(timeout: Duration? = nil) async throws -> JSONValue {
        try await body.get(timeout: timeout)
    }

    /// Waits for the body's result and decodes it as `type`.
    /// - Throws: as ``AsyncResult/get(as:timeout:)``.
    public func get<Value: Decodable>(as type: Value.Type, timeout: Duration? = nil) async throws -> Value {
        try await body.get(as: type, timeout: timeout)
    }

    /// How far the header is: results recorded by the chord counter while it runs; once the body
    /// was sent (the counter is gone), the header tasks' finished states.
    /// - Throws: ``RedisClientError``, ``CeleryProtocolError``.
    public func progress() async throws -> CanvasProgress {
        let counter = try await header.backend.chords.progress(groupID: header.id)
        if let total = counter.total, !counter.bodySent {
            return CanvasProgress(completed: counter.recorded, total: total)
        }
        return try await header.progress()
    }
}
