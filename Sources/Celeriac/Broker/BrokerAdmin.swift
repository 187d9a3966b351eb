import Foundation
import RESP

/// Operations on the broker for operators (`celeriac queues`, `purge`, `dead`): queue lengths,
/// purging, and the dead-letter list (list, retry, drop).
public struct BrokerAdmin: Sendable {
    /// The broker connections.
    public let pool: RedisConnectionPool
    /// The bookkeeping keys (unacked, scheduled, dead letters).
    public let keys: ConsumerKeys

    /// An admin on `broker`'s connections.
    public init(broker: RedisBroker, keys: ConsumerKeys = ConsumerKeys()) {
        self.pool = broker.pool
        self.keys = keys
    }

    /// A queue and the messages waiting in it (all priorities).
    public struct QueueLength: Sendable, Hashable {
        /// The queue name.
        public var queue: String
        /// Waiting messages by priority step (0, 3, 6, 9; 0 is served first).
        public var byPriority: [Int]
        /// Waiting messages in all.
        public var messages: Int { byPriority.reduce(0, +) }
    }

    /// The queues known from kombu's bindings (and any given), with their lengths, by name.
    /// Reply queues of remote control are left out.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func queueLengths(including extra: [String] = []) async throws -> [QueueLength] {
        var names = Set(extra)
        var cursor = "0"
        repeat {
            let reply = try await pool.send("SCAN", cursor, "MATCH", "_kombu.binding.*", "COUNT", 1000)
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string else {
                throw RedisClientError.unexpectedReply(reply, expected: "[cursor, keys]")
            }
            cursor = next
            for key in parts[1].array?.compactMap(\.string) ?? [] where !key.contains("pidbox") && !key.contains("celeryev") {
                for member in try await pool.smembers(key) {
                    let fields = String(decoding: member, as: UTF8.self).components(separatedBy: QueueKeys.separator)
                    if fields.count == 3, !fields[2].isEmpty { names.insert(fields[2]) }
                }
            }
        } while cursor != "0"
        let sorted = names.sorted()
        let commands = sorted.flatMap { queue in QueueKeys.listKeys(queue: queue).map { RESPCommand("LLEN", $0) } }
        let lengths = try await pool.pipeline(commands).map { $0.int ?? 0 }
        let perQueue = QueueKeys.listKeys(queue: "").count
        return sorted.enumerated().map { index, queue in
            QueueLength(queue: queue, byPriority: Array(lengths[(index * perQueue)..<((index + 1) * perQueue)]))
        }
    }

    /// How many messages are unacked (held by workers), parked for their ETA, and dead-lettered.
    /// - Throws: ``RedisClientError``.
    public func bookkeeping() async throws -> (unacked: Int, scheduled: Int, dead: Int) {
        let replies = try await pool.pipeline([
            RESPCommand("HLEN", keys.unacked), RESPCommand("ZCARD", keys.scheduled), RESPCommand("LLEN", keys.deadLetter),
        ])
        return (replies[0].int ?? 0, replies[1].int ?? 0, replies[2].int ?? 0)
    }

    /// Deletes every waiting message of `queue` (all priorities); returns how many there were.
    /// Messages held by workers (unacked) are not touched.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    @discardableResult
    public func purge(_ queue: String) async throws -> Int {
        let lists = QueueKeys.listKeys(queue: queue)
        let replies = try await pool.transaction(lists.map { RESPCommand("LLEN", $0) } + [RESPCommand("DEL", arguments: lists)])
        return replies.dropLast().compactMap(\.int).reduce(0, +)
    }

    /// The dead-letter entries, oldest first.
    /// - Throws: ``RedisClientError``; ``CeleryProtocolError`` for an entry that is not one.
    public func deadLetters() async throws -> [DeadLetterEntry] {
        try await pool.lrange(keys.deadLetter).reversed().map { try DeadLetterEntry(decoding: $0) }
    }

    // KEYS[1] = dead-letter list, KEYS[2] = the queue list; ARGV[1] = the entry, ARGV[2] = message.
    // Moves one entry's message back to its queue, only if the entry is still there.
    private static let retryScript = RedisScript(
        """
        if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
            redis.call('LPUSH', KEYS[2], ARGV[2])
            return 1
        end
        return 0
        """)

    /// Puts dead-lettered messages back at the end of their queues (where they are fetched last),
    /// removing their entries; entries taken by someone else meanwhile are skipped. `where`
    /// chooses the entries (all by default). Returns how many were moved.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    @discardableResult
    public func retryDeadLetters(where include: (DeadLetterEntry) -> Bool = { _ in true }) async throws -> Int {
        var moved = 0
        for raw in try await pool.lrange(keys.deadLetter) {
            guard let entry = try? DeadLetterEntry(decoding: raw), include(entry) else { continue }
            let queue = entry.queue ?? TaskOptions.defaultQueue
            let reply = try await pool.evalScript(Self.retryScript, keys: [keys.deadLetter, queue], arguments: [raw, entry.message])
            moved = moved.addingSaturated(reply.int ?? 0)
        }
        return moved
    }

    /// Deletes dead-letter entries (all by default). Returns how many were deleted.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    @discardableResult
    public func dropDeadLetters(where include: (DeadLetterEntry) -> Bool = { _ in true }) async throws -> Int {
        var dropped = 0
        for raw in try await pool.lrange(keys.deadLetter) {
            guard let entry = try? DeadLetterEntry(decoding: raw), include(entry) else { continue }
            dropped += try await pool.lrem(keys.deadLetter, count: 1, value: raw)
        }
        return dropped
    }
}
