import Foundation
import RESP

/// Celery's remote-control client (`app.control` / `celery inspect`) over Redis: broadcasts a
/// request on the pidbox and collects the workers' replies (Celeriac and Python alike) from a
/// reply queue bound to `reply.celery.pidbox`, as kombu does (protocol section 5).
///
/// ```swift
/// let control = ControlClient(app: app)
/// let pongs = try await control.broadcast("ping")            // ["w1@host": {"ok": "pong"}, ...]
/// let active = try await control.broadcast("active", destination: ["w1@host"])
/// ```
public struct ControlClient: Sendable {
    /// The producer whose broker carries the requests.
    public let app: CeleriacApp

    /// A client on `app`'s broker.
    public init(app: CeleriacApp) {
        self.app = app
    }

    /// Broadcasts `method` and returns the replies by node name, collected until `timeout` (or
    /// until `limit` replies came, or `quiet` passed after the last reply).
    /// - Parameters:
    ///   - destination: the node names to address; every worker when `nil`.
    ///   - quiet: stop once replies came and none followed for this long (workers answer within
    ///     milliseconds of each other); `nil` waits the whole timeout, as `celery inspect` does.
    ///   - reply: `false` for a cast (nothing is waited for; returns `[:]`).
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func broadcast(
        _ method: String, arguments: JSONObject = [:], destination: [String]? = nil, timeout: Duration = .seconds(1),
        limit: Int? = nil, quiet: Duration? = nil, reply: Bool = true
    ) async throws -> JSONObject {
        let pool = app.broker.pool
        let channel = ControlRequest.channel(database: pool.redis.database)
        guard reply else {
            try await pool.publish(channel, ControlRequest(method: method, arguments: arguments, destination: destination).encoded())
            return [:]
        }
        let oid = CeleryID.random()
        let ticket = CeleryID.random()
        let queue = oid + ".reply.celery.pidbox"
        let binding = QueueKeys.bindingKey(exchange: "reply.celery.pidbox")
        let member = QueueKeys.bindingMember(queue: queue, exchange: "reply.celery.pidbox", routingKey: oid)
        _ = try await pool.sadd(binding, [member])
        let request = ControlRequest(
            method: method, arguments: arguments, destination: destination, ticket: ticket, replyRoutingKey: oid)
        let outcome: Result<JSONObject, any Error>
        do {
            try await pool.publish(channel, request.encoded(expires: Date().addingTimeInterval(timeout.timeInterval)))
            // Replies arrive on the reply queue; a connection of its own waits on it.
            let connection = try await RedisConnection.connect(pool.redis)
            do {
                outcome = .success(
                    try await collect(on: connection, queue: queue, ticket: ticket, timeout: timeout, limit: limit, quiet: quiet))
            } catch {
                outcome = .failure(error)
            }
            await connection.close()
        } catch {
            outcome = .failure(error)
        }
        // The reply queue and its binding are this call's alone.
        _ = try? await pool.srem(binding, [member])
        _ = try? await pool.delete([queue])
        return try outcome.get()
    }

    private func collect(
        on connection: RedisConnection, queue: String, ticket: String, timeout: Duration, limit: Int?, quiet: Duration?
    ) async throws -> JSONObject {
        var replies = JSONObject()
        let deadline = ContinuousClock.now + timeout
        var lastReply: ContinuousClock.Instant?
        while ContinuousClock.now < deadline, replies.count < (limit ?? .max) {
            if let quiet, let lastReply, ContinuousClock.now - lastReply >= quiet { break }
            let left = deadline - ContinuousClock.now
            guard let (_, value) = try await connection.brpop([queue], timeout: min(left, quiet ?? .milliseconds(100), .milliseconds(100))) else {
                continue
            }
            // Replies to other broadcasts (another ticket) or unreadable ones are skipped.
            guard let (headers, body) = try? KombuEnvelope.decode(value, what: "control reply"),
                headers["ticket"]?.stringValue == ticket, case .object(let answer) = body
            else { continue }
            for (node, value) in answer { replies[node] = value }
            lastReply = ContinuousClock.now
        }
        return replies
    }
}
