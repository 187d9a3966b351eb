import Foundation
import RESP

/// The results of a group's tasks, in group order (Celery's `GroupResult`).
///
/// ```swift
/// let group = try await app.apply(Signature.group((1...10).map { add.clone(adding: [$0, $0]) }))
/// let sums = try await group.groupResult?.get(timeout: .seconds(30))   // [2, 4, ..., 20]
/// ```
public struct GroupResult: Sendable {
    /// The group id.
    public let id: String
    /// One result per member, in order (a member chain's last step, a member chord's body).
    public let results: [AsyncResult]
    /// Where the results are stored.
    public let backend: RedisResultBackend

    /// A handle on group `id` with these member results.
    public init(id: String, results: [AsyncResult], backend: RedisResultBackend) {
        self.id = id
        self.results = results
        self.backend = backend
    }

    /// The members' current states, in order (PENDING where nothing is stored).
    /// - Throws: ``RedisClientError``, ``CeleryProtocolError``.
    public func states() async throws -> [TaskState] {
        try await backend.metas(for: results.map(\.id)).map { $0?.state ?? .pending }
    }

    /// How many members finished with SUCCESS (Celery's `completed_count()`).
    /// - Throws: as ``states()``.
    public func completedCount() async throws -> Int {
        try await states().filter { $0 == .success }.count
    }

    /// How far the group is: members finished (SUCCESS, FAILURE or REVOKED) of all members.
    /// - Throws: as ``states()``.
    public func progress() async throws -> CanvasProgress {
        CanvasProgress(completed: try await states().filter(\.isReady).count, total: results.count)
    }

    /// Whether every member finished.
    /// - Throws: as ``states()``.
    public func ready() async throws -> Bool {
        try await states().allSatisfy(\.isReady)
    }

    /// Whether every member finished with SUCCESS.
    /// - Throws: as ``states()``.
    public func successful() async throws -> Bool {
        try await states().allSatisfy { $0 == .success }
    }

    /// Whether any member failed (FAILURE or REVOKED).
    /// - Throws: as ``states()``.
    public func failed() async throws -> Bool {
        try await states().contains { $0 == .failure || $0 == .revoked }
    }

    /// Waits for every member and returns their results in group order (Celery's `get()`/`join()`).
    /// - Parameter timeout: for the whole group; `nil` waits as long as it takes.
    /// - Throws: the first failed member's ``TaskFailure`` (in group order); ``CeleriacError``
    ///   `timeout`; ``RedisClientError``.
    public func get(timeout: Duration? = nil) async throws -> [JSONValue] {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var values: [JSONValue] = []
        values.reserveCapacity(results.count)
        // One MGET finds what is already done; only the rest are waited for, one by one.
        let known = try await backend.metas(for: results.map(\.id))
        for (result, meta) in zip(results, known) {
            let ready: TaskResultMeta
            if let meta, meta.state.isReady {
                ready = meta
            } else {
                let left = deadline.map { max(.zero, $0 - ContinuousClock.now) }
                ready = try await backend.waitForReadyState(of: result.id, timeout: left)
            }
            if let failure = ready.failure { throw failure }
            values.append(ready.result)
        }
        return values
    }

    /// Waits for every member and decodes each result as `type`, in group order.
    /// - Throws: as ``get(timeout:)``, and ``CeleriacError`` with code `encoding` for a result
    ///   that does not decode as `type`.
    public func get<Value: Decodable>(as type: Value.Type, timeout: Duration? = nil) async throws -> [Value] {
        try await get(timeout: timeout).map { try $0.decode(as: type) }
    }

    /// Saves the group under `celery-taskset-meta-<id>` as Celery's `GroupResult.save()` does,
    /// so ``restore(_:backend:)`` (or Python's `GroupResult.restore`) can find it by id.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func save() async throws {
        let members: [JSONValue] = results.map { [[.string($0.id), .null], .null] }
        let value: JSONValue = ["result": [[.string(id), .null], .array(members)]]
        let key = RedisResultBackend.groupKey(for: id)
        if let seconds = backend.resultExpires.map({ max(1, Int($0.components.seconds)) }) {
            try await backend.pool.send("SET", key, value.serializedString, "EX", seconds)
        } else {
            try await backend.pool.send("SET", key, value.serializedString)
        }
    }

    /// Reads a saved group (by Celeriac or Python Celery); `nil` when none is saved under `id`.
    /// - Throws: ``RedisClientError``; ``CeleryProtocolError`` for a value that is not a saved group.
    public static func restore(_ id: String, backend: RedisResultBackend) async throws -> GroupResult? {
        guard let bytes = try await backend.pool.get(RedisResultBackend.groupKey(for: id)) else { return nil }
        guard case .array(let tuple)? = try JSONValue(parsing: bytes)["result"], tuple.count == 2,
            let members = tuple[1].arrayValue
        else {
            throw CeleryProtocolError(.missingField, "a saved group must be {\"result\": [[id, parent], [members]]}")
        }
        let ids = try members.map { member -> String in
            guard let id = member.arrayValue?.first?.arrayValue?.first?.stringValue else {
                throw CeleryProtocolError(.missingField, "a saved group member must be [[id, parent], children]")
            }
            return id
        }
        return GroupResult(id: id, results: ids.map { AsyncResult(id: $0, backend: backend) }, backend: backend)
    }

    /// Deletes the saved group (not the members' results).
    /// - Throws: ``RedisClientError``.
    public func delete() async throws {
        try await backend.pool.delete([RedisResultBackend.groupKey(for: id)])
    }
}

/// How far a group or chord is.
public struct CanvasProgress: Sendable, Hashable, CustomStringConvertible {
    /// Tasks finished.
    public var completed: Int
    /// Tasks in all.
    public var total: Int

    /// Creates a progress value.
    public init(completed: Int, total: Int) {
        self.completed = completed
        self.total = total
    }

    public var description: String { "\(completed)/\(total)" }
}
