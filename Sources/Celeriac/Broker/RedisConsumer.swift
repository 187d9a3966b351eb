import Foundation
import RESP

/// The consuming half of kombu's Redis transport, compatible with Python workers sharing the same
/// queues: fetch with ack emulation (`unacked` + `unacked_index`), ack, restore and requeue with the
/// redelivered flags, the visibility-timeout sweep, plus Celeriac's durable hold of ETA messages
/// and its dead-letter list.
///
/// Every step that moves a message between a list and the bookkeeping is one Lua script, so a
/// consumer killed at any point leaves each message in exactly one place. (The one exception is
/// kombu's own: a message popped by a blocking `BRPOP` on an empty queue and not yet recorded.)
public final class RedisConsumer: Sendable {
    /// One message taken from a queue list.
    public struct Fetched: Sendable {
        /// The envelope bytes as found in the list.
        public var raw: [UInt8]
        /// The queue it came from.
        public var queue: String
        /// Its delivery tag when it was recorded as unacked; `nil` when it went to the dead-letter
        /// list because it could not be read at all (``deadLetterReason`` says why).
        public var deliveryTag: String?
        /// Why the message went to the dead-letter list, if it did.
        public var deadLetterReason: String?
        /// Whether it went to the dead-letter list for passing the maximum message size; then
        /// ``raw`` is empty (it never left Redis) and ``taskID`` and ``taskName`` are what the
        /// fetch script found in its headers.
        public var isTooLarge = false
        /// The id of a message dead-lettered for its size, when the script found one.
        public var taskID: String?
        /// The task name of a message dead-lettered for its size, when the script found one.
        public var taskName: String?
    }

    /// Which end of its list a restored message goes to.
    public enum ListEnd: String, Sendable {
        /// `RPUSH`: served next (warm shutdown, visibility restore, due ETA messages).
        case front
        /// `LPUSH`: behind everything queued (requeue after reject).
        case back
    }

    /// The broker connections.
    public let pool: RedisConnectionPool
    /// The bookkeeping key names.
    public let keys: ConsumerKeys
    /// The consumer's node name, written into dead-letter entries.
    public let nodeName: String

    /// Creates a consumer on `pool`.
    public init(pool: RedisConnectionPool, keys: ConsumerKeys = ConsumerKeys(), nodeName: String) {
        self.pool = pool
        self.keys = keys
        self.nodeName = nodeName
    }

    /// The lists of `queues` in kombu's fetch order: priority-major (every queue's priority-0 list,
    /// then every queue's `\x06\x163` list, ...).
    public static func fetchOrder(_ queues: [String]) -> [(key: String, queue: String)] {
        QueueKeys.prioritySteps.flatMap { step in
            queues.map { (QueueKeys.listKey(queue: $0, priority: step), $0) }
        }
    }

    /// Identifies one fetch request, so that it can be repeated after a lost reply (see ``fetch(from:limit:request:now:)``).
    public struct FetchRequest: Sendable, Hashable {
        /// This request's id.
        public var id: String
        /// The id of the chain of requests (a fetch loop's) this one belongs to: one key per chain
        /// holds the last request's saved reply, which the next request's replaces.
        public var chainID: String

        /// A new request following `previous` (in its chain), or the first of a new chain.
        public init(after previous: FetchRequest? = nil) {
            self.id = CeleryID.random()
            self.chainID = previous?.chainID ?? CeleryID.random()
        }
    }

    /// The key under which the reply of a chain's last fetch request is saved until the next one.
    public func fetchReplyKey(_ chainID: String) -> String { "celeriac.fetch." + chainID }

    /// Pops up to `limit` messages from `queues` (in fetch order) and records them as unacked, in
    /// one atomic step. Unreadable envelopes go to the dead-letter list in the same step, and so do
    /// messages longer than `maximumSize` bytes, without leaving Redis. Popping stops once the
    /// messages taken hold `byteBudget` bytes (at least one is always taken). Runs on `connection`
    /// when given (a consumer's own connection stays warm), else on the pool.
    ///
    /// When the call fails with a connection error, repeat it with the same `request` (and the same
    /// queues): if Redis ran it before the connection broke, the saved reply comes back instead of
    /// a second pop, so no fetched message is left stranded in `unacked`. Use a new request (made
    /// with ``FetchRequest/init(after:)``) once a reply arrived.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func fetch(
        from queues: [String], limit: Int, maximumSize: Int? = nil, byteBudget: Int? = nil,
        request: FetchRequest = FetchRequest(), on connection: RedisConnection? = nil, now: Date = Date()
    ) async throws -> [Fetched] {
        guard limit > 0, !queues.isEmpty else { return [] }
        let order = Self.fetchOrder(queues)
        let scriptKeys: [any RESPArgument] =
            [keys.unacked, keys.unackedIndex, keys.deadLetter, fetchReplyKey(request.chainID)] + order.map(\.key)
        let arguments: [any RESPArgument] =
            [
                Self.epoch(now), nodeName, limit, maximumSize.map { String(max(0, $0)) } ?? "", request.id,
                byteBudget.map { String(max(1, $0)) } ?? "",
            ] + order.map(\.queue)
        let sender: any RedisCommandSender = connection ?? pool
        let reply = try await sender.evalScript(ConsumerScripts.fetch, keys: scriptKeys, arguments: arguments)
        return try (reply.array ?? []).map { entry in
            guard let parts = entry.array, parts.count == 4 || parts.count == 6, let index = parts[0].int, index >= 1,
                order.indices.contains(index - 1)
            else { throw RedisClientError.unexpectedReply(entry, expected: "[list index, recorded, raw, tag]") }
            var fetched = try Self.fetched(parts[1..<4], queue: order[index - 1].queue, reply: entry)
            if parts.count == 6 {
                fetched.isTooLarge = true
                fetched.taskID = parts[4].string.flatMap { $0.isEmpty ? nil : $0 }
                fetched.taskName = parts[5].string.flatMap { $0.isEmpty ? nil : $0 }
            }
            return fetched
        }
    }

    /// Waits up to `timeout` for a message with `BRPOP` on `connection` (a connection of its own:
    /// it is closed if the wait is cancelled). Returns the popped message, not yet recorded: pass it
    /// to ``record(_:)`` at once. `nil` on timeout.
    /// - Throws: `CancellationError`, ``RedisClientError``, ``RedisServerError``.
    public func waitForMessage(
        on connection: RedisConnection, from queues: [String], timeout: Duration
    ) async throws -> (raw: [UInt8], queue: String)? {
        let order = Self.fetchOrder(queues)
        guard let (key, raw) = try await connection.brpop(order.map(\.key), timeout: timeout) else { return nil }
        let keyText = String(decoding: key, as: UTF8.self)
        return (raw, order.first { $0.key == keyText }?.queue ?? keyText)
    }

    /// Records a message popped by ``waitForMessage(on:from:timeout:)`` as unacked (or dead-letters
    /// it when unreadable). Safe to repeat after a connection error: recording twice writes the
    /// same entry.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func record(
        _ popped: (raw: [UInt8], queue: String), on connection: RedisConnection? = nil, now: Date = Date()
    ) async throws -> Fetched {
        let sender: any RedisCommandSender = connection ?? pool
        let reply = try await sender.evalScript(
            ConsumerScripts.adopt, keys: [keys.unacked, keys.unackedIndex, keys.deadLetter],
            arguments: [Self.epoch(now), nodeName, popped.raw, popped.queue])
        guard let parts = reply.array, parts.count == 3 else {
            throw RedisClientError.unexpectedReply(reply, expected: "[recorded, '', tag]")
        }
        var fetched = try Self.fetched(parts[...], queue: popped.queue, reply: reply)
        fetched.raw = popped.raw
        return fetched
    }

    private static func fetched(_ parts: ArraySlice<RESPValue>, queue: String, reply: RESPValue) throws -> Fetched {
        let values = Array(parts)
        guard values.count == 3, let recorded = values[0].int, let raw = values[1].bytes, let note = values[2].string else {
            throw RedisClientError.unexpectedReply(reply, expected: "[recorded, raw, tag or reason]")
        }
        return recorded == 1
            ? Fetched(raw: raw, queue: queue, deliveryTag: note, deadLetterReason: nil)
            : Fetched(raw: raw, queue: queue, deliveryTag: nil, deadLetterReason: note)
    }

    /// Acknowledges messages: removes their unacked entries, `HDEL` then `ZREM` for all of them
    /// in one pipeline. No MULTI is needed: cut off between the two, the index keeps tags whose
    /// entries are gone, and a sweep (Celeriac's or kombu's) drops such a tag without restoring
    /// anything; the other order could leave entries no sweep ever finds.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func ack(_ deliveryTags: [String]) async throws {
        guard !deliveryTags.isEmpty else { return }
        let tags = deliveryTags.map { $0 as any RESPArgument }
        let replies = try await pool.pipeline([
            RESPCommand("HDEL", arguments: [keys.unacked] + tags),
            RESPCommand("ZREM", arguments: [keys.unackedIndex] + tags),
        ])
        if let error = replies.lazy.compactMap(\.serverError).first { throw error }
    }

    /// Raises the fetch-time score of messages this consumer still holds to `now`, so that no
    /// visibility sweep (Celeriac's or a Python worker's) restores a message whose consumer is
    /// alive; entries of a dead consumer stop being refreshed and come back after the timeout.
    /// Acked entries are not re-added (`XX`).
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func refresh(_ deliveryTags: [String], now: Date = Date()) async throws {
        guard !deliveryTags.isEmpty else { return }
        var command = RESPCommand("ZADD", keys.unackedIndex, "XX")
        let score = Self.epoch(now)
        for tag in deliveryTags {
            command.append(score)
            command.append(tag)
        }
        _ = try await pool.send(command)
    }

    /// Moves a held message out of the unacked bookkeeping into the scheduled set until `eta`,
    /// atomically. Returns `false` when its unacked entry was already gone (another consumer's
    /// sweep restored it, so that copy will run instead).
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func park(raw: [UInt8], deliveryTag: String, listKey: String, until eta: Date) async throws -> Bool {
        let reply = try await pool.evalScript(
            ConsumerScripts.park,
            keys: [keys.unacked, keys.unackedIndex, keys.scheduled, keys.scheduledMessages],
            arguments: [deliveryTag, Self.epoch(eta), listKey, raw])
        return reply.int == 1
    }

    /// Pushes scheduled messages that are due by `now` back to the front of their lists (at most
    /// `limit`), unchanged. Any number of consumers may call this at once: each message moves once.
    /// - Returns: how many moved, and the ETA of the next scheduled message.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func promoteDueMessages(now: Date = Date(), limit: Int = 1000) async throws -> (moved: Int, next: Date?) {
        let reply = try await pool.evalScript(
            ConsumerScripts.promote, keys: [keys.scheduled, keys.scheduledMessages],
            arguments: [Self.epoch(now), limit])
        guard let parts = reply.array, parts.count == 2, let moved = parts[0].int else {
            throw RedisClientError.unexpectedReply(reply, expected: "[moved, next]")
        }
        // The score comes from Redis, where anything may have written it (`+inf`, `nan`): a time
        // that is not a finite date is no wake-up time.
        let next = parts[1].string.flatMap(Double.init).flatMap { score in
            CeleryTimestamp.secondsSince1970.contains(score) ? Date(timeIntervalSince1970: score) : nil
        }
        return (moved, next)
    }

    /// Puts an unacked message back on its list with the redelivered flags set, and removes its
    /// entry, atomically; nothing happens if the entry is gone (already acked or restored).
    /// - Parameters:
    ///   - expected: restore only if the entry still holds these bytes (the sweep's check).
    /// - Returns: whether it was pushed.
    /// - Throws: ``CeleryProtocolError`` for an envelope that is not a JSON object;
    ///   ``RedisClientError``, ``RedisServerError``.
    @discardableResult
    public func restore(
        raw: [UInt8], deliveryTag: String, listKey: String, to end: ListEnd = .front, expected: [UInt8] = []
    ) async throws -> Bool {
        let envelope = try Self.markedRedelivered(raw)
        let reply = try await pool.evalScript(
            ConsumerScripts.restore, keys: [keys.unacked, keys.unackedIndex, listKey],
            arguments: [deliveryTag, envelope, expected, end.rawValue])
        return reply.int == 1
    }

    /// Moves an unacked message to the dead-letter list with `entry` (see ``DeadLetterEntry``).
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func deadLetter(deliveryTag: String, entry: DeadLetterEntry) async throws {
        _ = try await pool.evalScript(
            ConsumerScripts.deadLetter, keys: [keys.unacked, keys.unackedIndex, keys.deadLetter],
            arguments: [deliveryTag, entry.encoded()])
    }

    /// kombu's visibility-timeout sweep: under the `unacked_mutex` lock, restores every unacked
    /// message fetched (or last refreshed) more than `visibilityTimeout` ago, whoever fetched it,
    /// to the front of its list with the redelivered flags. Skips the sweep when another consumer
    /// holds the lock. The lock expires after `mutexExpiry` (kombu's `unacked_mutex_expire`,
    /// 300 s), so a consumer killed mid-sweep holds up the others' sweeps for that long at most.
    /// - Returns: how many messages were restored.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    @discardableResult
    public func restoreVisibilityTimedOut(
        visibilityTimeout: Duration, mutexExpiry: Duration = .seconds(300), now: Date = Date(), limit: Int? = nil
    ) async throws -> Int {
        let token = CeleryID.randomHex()
        let expiry = max(1, OutsideNumber.milliseconds(mutexExpiry))
        let locked = try await pool.send(RESPCommand("SET", keys.unackedMutex, token, "NX", "PX", expiry))
        guard !locked.isNull else { return 0 }
        var restored = 0
        do {
            var range = RESPCommand(
                "ZRANGE", keys.unackedIndex, Self.epoch(now.addingTimeInterval(-visibilityTimeout.timeInterval)), 0,
                "BYSCORE", "REV", "WITHSCORES")
            if let limit {
                range.append("LIMIT")
                range.append(0)
                range.append(limit)
            }
            let entries = try await pool.send(range).array ?? []
            for index in stride(from: 0, to: entries.count, by: 2) {
                guard let tag = entries[index].string else { continue }
                if try await restoreEntry(deliveryTag: tag) { restored += 1 }
            }
        } catch {
            _ = try? await pool.evalScript(ConsumerScripts.releaseMutex, keys: [keys.unackedMutex], arguments: [token])
            throw error
        }
        _ = try await pool.evalScript(ConsumerScripts.releaseMutex, keys: [keys.unackedMutex], arguments: [token])
        return restored
    }

    /// Restores one unacked entry (`[envelope, exchange, routing_key]`, written by Celeriac or by
    /// kombu) to the list its exchange and routing key lead to.
    private func restoreEntry(deliveryTag: String) async throws -> Bool {
        guard let value = try await pool.hget(keys.unacked, field: deliveryTag) else {
            _ = try await pool.send(RESPCommand("ZREM", keys.unackedIndex, deliveryTag))
            return false
        }
        guard case .array(let parts)? = try? JSONValue(parsing: value), parts.count == 3,
            case .object(let envelope) = parts[0]
        else {
            // Not kombu's format: keep it, out of the sweep's way, rather than lose or loop on it.
            let entry = DeadLetterEntry(
                reason: "the unacked entry is not [envelope, exchange, routing_key]", queue: nil, message: value,
                worker: nodeName)
            try await deadLetter(deliveryTag: deliveryTag, entry: entry)
            return false
        }
        let exchange = parts[1].stringValue ?? ""
        let routingKey = parts[2].stringValue ?? ""
        var queue = routingKey
        if !exchange.isEmpty {
            let members = try await pool.smembers(QueueKeys.bindingKey(exchange: exchange))
            let bound = members.map { String(decoding: $0, as: UTF8.self).components(separatedBy: QueueKeys.separator) }
                .filter { $0.count == 3 && ($0[0] == routingKey || $0[0].isEmpty) }
            if let first = bound.first { queue = first[2] }
        }
        let priority = envelope["properties"]?["priority"]?.intValue ?? 0
        let raw = JSONValue.object(envelope).serialized()
        return try await restore(
            raw: raw, deliveryTag: deliveryTag, listKey: QueueKeys.listKey(queue: queue, priority: priority),
            to: .front, expected: value)
    }

    /// The envelope with `headers.redelivered` and `properties.delivery_info.redelivered` set, as
    /// kombu writes it when restoring or requeueing.
    /// - Throws: ``CeleryProtocolError`` when `raw` is not a JSON object.
    public static func markedRedelivered(_ raw: [UInt8]) throws -> [UInt8] {
        guard case .object(var envelope) = try JSONValue(parsing: raw) else {
            throw CeleryProtocolError(.missingField, "the message is not a JSON object")
        }
        var headers = envelope["headers"]?.objectValue ?? [:]
        headers["redelivered"] = true
        envelope["headers"] = .object(headers)
        var properties = envelope["properties"]?.objectValue ?? [:]
        var info = properties["delivery_info"]?.objectValue ?? [:]
        info["redelivered"] = true
        properties["delivery_info"] = .object(info)
        envelope["properties"] = .object(properties)
        return JSONValue.object(envelope).serialized()
    }

    /// Epoch seconds as kombu writes them in `unacked_index`.
    static func epoch(_ date: Date) -> String {
        String(date.timeIntervalSince1970)
    }
}
