import Foundation
import RESP

/// Celery 5.7's native Redis chord synchronisation (protocol 4.6), in the result backend:
/// `celery-taskset-meta-<gid>` + `.s` (size), `.t` (size correction), `.j` (results, a zset by
/// header index), `.d` (dedup set), `.c` (completion claim, then `done`). Each header task
/// returns its part in one atomic script; the one that completes the chord wins the claim and
/// publishes the body. Python and Celeriac workers can share a chord.
public struct ChordCounter: Sendable {
    /// The backend connections.
    public let pool: RedisConnectionPool
    /// How long chord keys live (Celery's `result_chord_expires` = `result_expires`); `nil`: forever.
    public let expires: Duration?

    /// How long a claim holds before it is finished (Celery: max(5, 2 × join timeout 3 s)).
    static let claimSeconds = 6
    /// How long the claim is extended for publishing the body.
    static let publishClaimSeconds = 30
    /// How long the `done` marker stops late duplicates.
    static let doneSeconds = 300

    /// Chord counters on the backend's connections.
    public init(pool: RedisConnectionPool, expires: Duration?) {
        self.pool = pool
        self.expires = expires
    }

    /// The keys of one chord.
    public struct Keys: Sendable {
        /// `celery-taskset-meta-<gid>` (a saved GroupResult, for complex headers only).
        public let group: String
        /// `.s`: the number of header results expected.
        public var size: String { group + ".s" }
        /// `.t`: a correction added to the size (header tasks that replaced themselves).
        public var sizeCorrection: String { group + ".t" }
        /// `.j`: the recorded results, a zset scored by header index.
        public var results: String { group + ".j" }
        /// `.d`: the `<task id>:<index>` members already recorded.
        public var dedup: String { group + ".d" }
        /// `.c`: the completion claim, then `done`.
        public var claim: String { group + ".c" }

        /// The keys of chord `groupID`.
        public init(_ groupID: String) { group = RedisResultBackend.groupKey(for: groupID) }
    }

    private var expirySeconds: Int { expires.map { max(1, Int($0.components.seconds)) } ?? 0 }

    /// Writes the sizes of new chords (`DEL .c`, `SET .s <size> EX <expiry>`), before their header
    /// messages are published.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func setSizes(_ sizes: [CanvasPlan.ChordSize]) async throws {
        guard !sizes.isEmpty else { return }
        var commands: [RESPCommand] = []
        for chord in sizes {
            let keys = Keys(chord.groupID)
            commands.append(RESPCommand("DEL", keys.claim))
            if expirySeconds > 0 {
                commands.append(RESPCommand("SET", keys.size, chord.size, "EX", expirySeconds))
            } else {
                commands.append(RESPCommand("SET", keys.size, chord.size))
            }
        }
        if let error = try await pool.pipeline(commands).lazy.compactMap(\.serverError).first { throw error }
    }

    // KEYS: .j .t .s .d group .c; ARGV: task id, entry, "1" (ordered), index, expiry, group expiry,
    // claim expiry, claim token. Returns {recorded (-1: chord already done), size correction, size, claimed}.
    // Same keys, members and claim rules as Celery's CHORD_PART_RETURN_LUA.
    private static let partReturnScript = RedisScript(
        """
        if redis.call('GET', KEYS[6]) == 'done' then return {-1, false, false, 0} end
        local member = ARGV[1] .. ':' .. ARGV[4]
        if redis.call('SISMEMBER', KEYS[4], member) == 0 then
            if ARGV[3] == '1' then
                redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
            else
                redis.call('RPUSH', KEYS[1], ARGV[2])
            end
            redis.call('SADD', KEYS[4], member)
        end
        local recorded
        if ARGV[3] == '1' then recorded = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
        else recorded = redis.call('LLEN', KEYS[1]) end
        local expires = tonumber(ARGV[5])
        if expires > 0 then
            for i = 1, 4 do redis.call('EXPIRE', KEYS[i], expires) end
            if tonumber(ARGV[6]) > 0 then redis.call('EXPIRE', KEYS[5], ARGV[6]) end
        end
        local correction = redis.call('GET', KEYS[2])
        local size = redis.call('GET', KEYS[3])
        local claimed = 0
        if size and recorded == tonumber(size) + tonumber(correction or 0) then
            if redis.call('SET', KEYS[6], ARGV[8], 'NX', 'EX', ARGV[7]) then claimed = 1 end
        end
        return {recorded, correction, size, claimed}
        """)

    // KEYS: .c .s; ARGV: token, seconds. Extends our claim, or retakes an expired one while the
    // chord is still open (Celery's CHORD_CLAIM_EXTEND_LUA).
    private static let extendClaimScript = RedisScript(
        """
        local holder = redis.call('GET', KEYS[1])
        if holder == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
        if not holder and redis.call('EXISTS', KEYS[2]) == 1 then
            return redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') and 1 or 0
        end
        return 0
        """)

    // KEYS: .c .j .t .s .d; ARGV: token, done seconds. Removes the chord's data and marks it done
    // if the claim is still ours (Celery's CHORD_CLEANUP_LUA).
    private static let cleanupScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
            if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2]) end
            return 1
        end
        return 0
        """)

    /// What returning one header result did.
    public enum PartReturn: Sendable, Equatable {
        /// The chord was already finished (a late duplicate); nothing recorded.
        case alreadyDone
        /// Recorded (or already recorded); the chord waits for more, or another worker finishes it.
        case recorded(count: Int, total: Int?)
        /// This result completed the chord and this worker holds the claim (`token`): it must
        /// finish the chord.
        case claimed(token: String)
    }

    /// One header task's result to return to its chord.
    public struct Part: Sendable {
        /// The chord's group id.
        public var groupID: String
        /// The header task.
        public var taskID: String
        /// Its position in the header (`nil`: scored `+inf`).
        public var groupIndex: Int?
        /// Its final state (SUCCESS, FAILURE, REVOKED).
        public var state: TaskState
        /// Its result, or its exception's stored form.
        public var result: JSONValue

        /// The result `result` in state `state` of task `taskID`, at `groupIndex` of chord `groupID`.
        public init(groupID: String, taskID: String, groupIndex: Int?, state: TaskState, result: JSONValue) {
            self.groupID = groupID
            self.taskID = taskID
            self.groupIndex = groupIndex
            self.state = state
            self.result = result
        }
    }

    /// Records a header task's result as `[1, task id, state, result]` at its index, once per
    /// task and index, and claims the chord when it is complete.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func returnPart(
        groupID: String, taskID: String, groupIndex: Int?, state: TaskState, result: JSONValue
    ) async throws -> PartReturn {
        let part = Part(groupID: groupID, taskID: taskID, groupIndex: groupIndex, state: state, result: result)
        guard let outcome = try await returnParts([part]).first else {
            throw RedisClientError(.unexpectedReply, "no reply to a chord part return")
        }
        return try outcome.get()
    }

    /// Returns many parts in one pipeline, each atomically as ``returnPart(groupID:taskID:groupIndex:state:result:)``.
    /// - Returns: one outcome per part, in order; a refused script call is a `.failure` in place.
    /// - Throws: ``RedisClientError`` for connection errors (some parts may have been recorded;
    ///   returning them again is harmless: each counts once).
    public func returnParts(_ parts: [Part]) async throws -> [Result<PartReturn, any Error>] {
        var tokens: [String] = []
        let calls = parts.map { part -> (keys: [any RESPArgument], arguments: [any RESPArgument]) in
            let keys = Keys(part.groupID)
            let entry: JSONValue = [1, .string(part.taskID), .string(part.state.rawValue), part.result]
            let token = CeleryID.randomHex()
            tokens.append(token)
            return (
                [keys.results, keys.sizeCorrection, keys.size, keys.dedup, keys.group, keys.claim],
                [
                    part.taskID, entry.serializedString, "1", part.groupIndex.map(String.init) ?? "+inf", expirySeconds,
                    expirySeconds, Self.claimSeconds, token,
                ]
            )
        }
        let replies = try await pool.evalScriptPipeline(Self.partReturnScript, calls: calls)
        return zip(replies, tokens).map { reply, token in
            if let error = reply.serverError { return .failure(error) }
            guard let values = reply.array, values.count == 4, let recorded = values[0].int else {
                return .failure(RedisClientError.unexpectedReply(reply, expected: "[recorded, correction, size, claimed]"))
            }
            if recorded < 0 { return .success(.alreadyDone) }
            if values[3].int == 1 { return .success(.claimed(token: token)) }
            return .success(.recorded(count: recorded, total: values[2].int.map { $0.addingSaturated(values[1].int ?? 0) }))
        }
    }

    /// The recorded header results, in header order, each `(task id, state, result)`.
    /// - Throws: ``RedisClientError``; ``CeleryProtocolError`` for an entry that is not Celery's.
    public func results(groupID: String) async throws -> [(taskID: String, state: TaskState, result: JSONValue)] {
        let reply = try await pool.send("ZRANGE", Keys(groupID).results, 0, -1)
        return try (reply.array ?? []).map { element in
            guard let bytes = element.bytes, case .array(let entry) = try JSONValue(parsing: bytes), entry.count == 4,
                let taskID = entry[1].stringValue, let state = entry[2].stringValue
            else {
                throw CeleryProtocolError(.missingField, "a chord result entry must be [1, task id, state, result]")
            }
            return (taskID, TaskState(rawValue: state), entry[3])
        }
    }

    /// Extends this worker's claim for publishing the body (or retakes an expired one while the
    /// chord is open). `false`: another worker holds it; do not publish.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    public func extendClaim(groupID: String, token: String) async throws -> Bool {
        let keys = Keys(groupID)
        let reply = try await pool.evalScript(
            Self.extendClaimScript, keys: [keys.claim, keys.size], arguments: [token, Self.publishClaimSeconds])
        return reply.int == 1
    }

    /// After the body is published: deletes the chord's data and leaves `done` for late duplicates,
    /// if the claim is still ours. `false`: it was lost (the data is left to expire).
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    @discardableResult
    public func finish(groupID: String, token: String) async throws -> Bool {
        let keys = Keys(groupID)
        let reply = try await pool.evalScript(
            Self.cleanupScript, keys: [keys.claim, keys.results, keys.sizeCorrection, keys.size, keys.dedup],
            arguments: [token, Self.doneSeconds])
        return reply.int == 1
    }

    /// After a failed header: drops the size, so a late copy of a header task cannot fail the
    /// chord again (the recorded results are left to expire, as Celery does).
    /// - Throws: ``RedisClientError``.
    public func dropSize(groupID: String) async throws {
        _ = try await pool.delete([Keys(groupID).size])
    }

    /// How far a chord is: results recorded so far, of how many (`nil` once the size is gone),
    /// and whether its body was sent.
    /// - Throws: ``RedisClientError``.
    public func progress(groupID: String) async throws -> (recorded: Int, total: Int?, bodySent: Bool) {
        let keys = Keys(groupID)
        let replies = try await pool.pipeline([
            RESPCommand("ZCARD", keys.results), RESPCommand("GET", keys.size), RESPCommand("GET", keys.sizeCorrection),
            RESPCommand("GET", keys.claim),
        ])
        let total = replies[1].int.map { $0.addingSaturated(replies[2].int ?? 0) }
        return (replies[0].int ?? 0, total, replies[3].string == "done")
    }
}
