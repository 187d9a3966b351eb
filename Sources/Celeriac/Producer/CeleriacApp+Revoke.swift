import Foundation
import RESP

extension CeleriacApp {
    /// Revokes tasks (Celery's `app.control.revoke`): they will not start on any worker, now or
    /// later. The ids are kept in Redis for three hours (``RevokedTasks``) for workers that start
    /// later, and broadcast on the pidbox so running workers (Celeriac or Python) learn them at
    /// once; a worker stores REVOKED for each id it does not run.
    /// - Parameter terminate: also stop the task where it runs. A Celeriac task stops at its next
    ///   ``TaskContext/checkCancellation()``; a Python worker signals the process.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func revoke(_ ids: [String], terminate: Bool = false) async throws {
        guard !ids.isEmpty else { return }
        try await RevokedTasks(pool: broker.pool).add(ids)
        let request = ControlRequest(
            method: "revoke",
            arguments: ["task_id": .array(ids.map(JSONValue.string)), "terminate": .bool(terminate), "signal": "SIGTERM"])
        try await broker.pool.publish(
            ControlRequest.channel(database: broker.pool.redis.database),
            request.encoded(expires: Date().addingTimeInterval(1)))
    }

    /// Revokes every task of an applied canvas: a group's members, a chord's header tasks and its
    /// body, a task (or a chain's last step). Returns the revoked ids.
    /// - Throws: as ``revoke(_:terminate:)``.
    @discardableResult
    public func revoke(_ result: CanvasResult, terminate: Bool = false) async throws -> [String] {
        let ids: [String]
        switch result {
        case .task(let task): ids = [task.id]
        case .group(let group): ids = group.results.map(\.id)
        case .chord(let chord): ids = chord.header.results.map(\.id) + [chord.body.id]
        }
        try await revoke(ids, terminate: terminate)
        return ids
    }

    /// Revokes the members of the group saved under `groupID` (``GroupResult/save()``, or Python's
    /// `GroupResult.save()`). Returns the revoked ids, or `nil` when no group is saved under it.
    /// - Throws: as ``revoke(_:terminate:)``; ``CeleryProtocolError`` for a value that is not a saved group.
    @discardableResult
    public func revokeGroup(_ groupID: String, terminate: Bool = false) async throws -> [String]? {
        guard let group = try await GroupResult.restore(groupID, backend: backend) else { return nil }
        return try await revoke(.group(group), terminate: terminate)
    }
}
