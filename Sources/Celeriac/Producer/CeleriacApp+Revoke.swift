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
}
