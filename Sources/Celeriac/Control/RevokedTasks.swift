import Foundation
import RESP

/// Revoked task ids kept in Redis (sorted set `celeriac.revoked`, id scored by the epoch second it
/// is forgotten), so that workers started after a revoke, or restarted, still refuse those tasks.
/// Celery keeps them only in worker memory; broadcasts still reach running workers as in Celery.
public struct RevokedTasks: Sendable {
    /// The broker connections.
    public let pool: RedisConnectionPool
    /// The sorted set's key.
    public var key = "celeriac.revoked"
    /// How long a revoke is remembered (Celery's in-memory default: 3 h).
    public var expiry: Duration = .seconds(3 * 3600)
    /// The most ids kept (Celery's in-memory `REVOKES_MAX`); past it the oldest are dropped.
    public var maximum = 50_000

    /// Revoked ids on `pool`.
    public init(pool: RedisConnectionPool) {
        self.pool = pool
    }

    /// Remembers `ids` as revoked until the expiry.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func add(_ ids: [String], now: Date = Date()) async throws {
        guard !ids.isEmpty else { return }
        let until = now.addingTimeInterval(expiry.timeInterval).timeIntervalSince1970
        var add = RESPCommand("ZADD", key)
        for id in ids {
            add.append(until)
            add.append(id)
        }
        let replies = try await pool.pipeline([add, RESPCommand("ZREMRANGEBYRANK", key, 0, -(max(1, maximum) + 1))])
        if let error = replies.lazy.compactMap(\.serverError).first { throw error }
    }

    /// The ids revoked and not yet forgotten (and forgets the expired ones).
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func current(now: Date = Date()) async throws -> Set<String> {
        let epoch = now.timeIntervalSince1970
        let replies = try await pool.pipeline([
            RESPCommand("ZREMRANGEBYSCORE", key, "-inf", epoch),
            RESPCommand("ZRANGE", key, epoch, "+inf", "BYSCORE", "LIMIT", 0, max(1, maximum)),
        ])
        if let error = replies.lazy.compactMap(\.serverError).first { throw error }
        return Set((replies.last?.array ?? []).compactMap(\.string))
    }
}
