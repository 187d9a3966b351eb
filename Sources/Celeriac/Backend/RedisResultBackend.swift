import Foundation
import RESP

/// Celery's Redis result backend: task states and results under `celery-task-meta-<id>`, each
/// write published on the channel of the same name.
public final class RedisResultBackend: Sendable {
    /// The connections used for reads and writes.
    public let pool: RedisConnectionPool
    /// How long stored results live (Celery's `result_expires`, default one day); `nil` keeps them.
    public let resultExpires: Duration?
    private let listener: ResultListener
    /// Ready states heard on their channels, for reads that come before the worker's SET.
    private let heard = HeardResults()

    /// Creates a backend on `pool`. Its subscriber connection for waiting (to the same server) is
    /// made by the first wait, not here.
    public init(pool: RedisConnectionPool, resultExpires: Duration? = .seconds(86_400)) {
        self.pool = pool
        self.resultExpires = resultExpires
        self.listener = ResultListener(pool.redis)
    }

    /// The key of a task's result.
    public static func key(for taskID: String) -> String { "celery-task-meta-" + taskID }

    /// The key of a saved group (`GroupResult.save()`), and the prefix of a chord's keys.
    public static func groupKey(for groupID: String) -> String { "celery-taskset-meta-" + groupID }

    /// The chord counters kept next to the results.
    public var chords: ChordCounter { ChordCounter(pool: pool, expires: resultExpires) }

    /// How ``storeScript`` writes each value.
    enum StoreMode: String, Sendable {
        /// SET, then PUBLISH (what Celery's worker does).
        case storeThenPublish = "s"
        /// For a ready state: PUBLISH now; SET now only when nobody heard it, else leave the SET
        /// to a later ``storeOnly`` call (see ``CompletionWriter``: Celery's client reads pub/sub
        /// only when its GET misses). Other states are stored, then published.
        case publishFirst = "p"
        /// SET without publishing (the SET after a ``publishFirst``).
        case storeOnly = "o"
    }

    // Writes each value unless the stored state is SUCCESS, the way the i-th letter of ARGV[2]
    // says (StoreMode: s store then publish, p publish first, o store only).
    // KEYS = meta keys; ARGV[1] = TTL in seconds, 0 for none; ARGV[i + 2] = the value for KEYS[i].
    // Returns per key 0 (kept: SUCCESS is stored), 1 (stored) or 2 (published, not stored yet).
    // Many results per call: the call itself costs Redis about as much as storing one. A store is
    // one `SET ... GET` (the state it replaced comes back in the same command): a SUCCESS it
    // replaced, which is rare (a redelivered task finishing again), is put back at once, inside
    // the script, with its expiry restarted.
    private static let storeScript = RedisScript(
        """
        local ttl = tonumber(ARGV[1])
        local function isSuccess(value)
            if not value or not string.find(value, '"SUCCESS"', 1, true) then return false end
            local ok, meta = pcall(cjson.decode, value)
            return ok and type(meta) == 'table' and meta['status'] == 'SUCCESS'
        end
        -- SET with the TTL, and with GET when `get` (returns the value replaced, false for none).
        local function set(key, value, get)
            if ttl > 0 and get then return redis.call('SET', key, value, 'EX', ttl, 'GET') end
            if ttl > 0 then return redis.call('SET', key, value, 'EX', ttl) end
            if get then return redis.call('SET', key, value, 'GET') end
            return redis.call('SET', key, value)
        end
        local outcomes = {}
        for i, key in ipairs(KEYS) do
            local value, mode = ARGV[i + 2], string.sub(ARGV[2], i, i)
            if mode == 'p' then
                if isSuccess(redis.call('GET', key)) then
                    outcomes[i] = 0
                elseif redis.call('PUBLISH', key, value) > 0 then
                    outcomes[i] = 2
                else
                    set(key, value, false)
                    outcomes[i] = 1
                end
            else
                local previous = set(key, value, true)
                if isSuccess(previous) then
                    set(key, previous, false)
                    outcomes[i] = 0
                else
                    if mode == 's' then redis.call('PUBLISH', key, value) end
                    outcomes[i] = 1
                end
            end
        end
        return outcomes
        """)

    /// Results stored per script call by ``store(_:)-([TaskResultMeta])`` (Redis runs nothing
    /// else meanwhile).
    private static let storeBatchLimit = 256

    private var ttlArgument: Int { resultExpires.map { max(1, Int($0.components.seconds)) } ?? 0 }

    /// Stores a state (and publishes it to waiters). A stored SUCCESS is never overwritten, as in
    /// Celery: a late RETRY or a redelivered task's STARTED must not hide a finished result.
    /// - Returns: whether it was stored.
    /// - Throws: ``RedisClientError``, ``RedisServerError``.
    @discardableResult
    public func store(_ meta: TaskResultMeta) async throws -> Bool {
        let reply = try await pool.evalScript(
            Self.storeScript, keys: [Self.key(for: meta.taskID)],
            arguments: [ttlArgument, StoreMode.storeThenPublish.rawValue, meta.encoded()])
        return reply.array?.first?.int == 1
    }

    /// Stores many states in order, each as ``store(_:)-(TaskResultMeta)`` does, a few hundred per
    /// script call, the calls pipelined.
    /// - Throws: ``RedisClientError`` when Redis cannot be reached (nothing or part of the batch
    ///   may be stored; storing again is harmless); ``RedisServerError`` for the first refused call.
    public func store(_ metas: [TaskResultMeta]) async throws {
        _ = try await store(metas, on: pool)
    }

    /// ``store(_:)-([TaskResultMeta])`` through another pool to the same server (the worker's
    /// writer uses its own, on its own thread), in `mode` (``StoreMode/publishFirst`` applies to
    /// ready states; the others are stored, then published). Returns the states that were
    /// published but not stored: the caller stores them later with ``StoreMode/storeOnly``.
    func store(
        _ metas: [TaskResultMeta], on pool: RedisConnectionPool, mode: StoreMode = .storeThenPublish
    ) async throws -> [TaskResultMeta] {
        let chunks = Self.chunks(metas)
        let calls = chunks.map { chunk in
            (keys: chunk.map { Self.key(for: $0.taskID) as any RESPArgument }, arguments: arguments(chunk, mode))
        }
        let replies = try await pool.evalScriptPipeline(Self.storeScript, calls: calls)
        if let error = replies.lazy.compactMap(\.serverError).first { throw error }
        return zip(chunks, replies).flatMap { Self.published($0, outcomes: $1) }
    }

    /// ``store(_:on:mode:)`` on a connection used by the calling thread, which blocks until Redis
    /// has them (the worker's task threads, when the writer is idle).
    func store(
        _ metas: [TaskResultMeta], on connection: SynchronousRedisConnection, mode: StoreMode = .storeThenPublish
    ) throws -> [TaskResultMeta] {
        try Self.chunks(metas).flatMap { chunk in
            let reply = try connection.evalScript(
                Self.storeScript, keys: chunk.map { Self.key(for: $0.taskID) }, arguments: arguments(chunk, mode))
            return Self.published(chunk, outcomes: reply)
        }
    }

    private static func chunks(_ metas: [TaskResultMeta]) -> [ArraySlice<TaskResultMeta>] {
        stride(from: 0, to: metas.count, by: storeBatchLimit).map { metas[$0..<min($0 + storeBatchLimit, metas.count)] }
    }

    private func arguments(_ chunk: ArraySlice<TaskResultMeta>, _ mode: StoreMode) -> [any RESPArgument] {
        // One letter per key; publishing first applies to ready states only.
        let modes =
            mode == .publishFirst
            ? String(chunk.map { $0.state.isReady ? "p" : "s" })
            : String(repeating: mode.rawValue, count: chunk.count)
        return [ttlArgument as any RESPArgument, modes] + chunk.map { $0.encoded() as any RESPArgument }
    }

    /// The metas of `chunk` whose outcome is 2: published, not stored yet.
    private static func published(_ chunk: ArraySlice<TaskResultMeta>, outcomes: RESPValue) -> [TaskResultMeta] {
        let codes = outcomes.array ?? []
        return zip(chunk, codes).compactMap { meta, code in code.int == 2 ? meta : nil }
    }

    /// The stored state of a task, or `nil` when nothing is stored (PENDING to Celery).
    /// - Throws: ``RedisClientError``; ``CeleryProtocolError`` for a value that is not a result.
    ///
    /// A ready state this process heard published for the task (while waiting for it) answers when
    /// Redis does not hold it yet: a Celeriac worker may store a result a moment after publishing
    /// it (``WorkerConfiguration/publishLead``).
    public func meta(for taskID: String) async throws -> TaskResultMeta? {
        let stored = try await pool.get(Self.key(for: taskID)).map { try TaskResultMeta(decoding: $0) }
        return heard.reconcile(stored, taskID: taskID)
    }

    /// The stored states of many tasks in one round trip (`MGET`), `nil` where nothing is stored.
    /// - Throws: ``RedisClientError``; ``CeleryProtocolError`` for a value that is not a result.
    public func metas(for taskIDs: [String]) async throws -> [TaskResultMeta?] {
        guard !taskIDs.isEmpty else { return [] }
        let reply = try await pool.send(RESPCommand("MGET", arguments: taskIDs.map(Self.key(for:))))
        let stored = try (reply.array ?? []).map { value in try value.bytes.map { try TaskResultMeta(decoding: $0) } }
        return zip(stored, taskIDs).map { heard.reconcile($0, taskID: $1) }
    }

    /// Deletes a task's result (`AsyncResult.forget`).
    /// - Throws: ``RedisClientError``.
    public func forget(_ taskID: String) async throws {
        heard.forget(taskID)
        try await pool.delete([Self.key(for: taskID)])
    }

    /// Waits until the task is in a ready state (SUCCESS, FAILURE, REVOKED) and returns its meta.
    ///
    /// Subscribes to the task's channel first and reads the key only once Redis has confirmed the
    /// subscription, so a result stored in between cannot be missed; whichever comes first, the
    /// read or the publish, answers (no polling). After a reconnection of the subscriber, the key
    /// is read again.
    /// - Throws: ``CeleriacError`` with code `timeout` after `timeout`; ``RedisClientError``.
    public func waitForReadyState(of taskID: String, timeout: Duration?) async throws -> TaskResultMeta {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        let channel = Self.key(for: taskID)
        let waiter = OneShot<Result<TaskResultMeta, any Error>>()
        /// Reads the key; a ready state or an error ends the wait. Returns whether it did.
        @Sendable func read() async -> Bool {
            do {
                guard let meta = try await readSurvivingReconnects(taskID, until: deadline), meta.state.isReady else {
                    return false
                }
                waiter.finish(.success(meta))
            } catch {
                waiter.finish(.failure(error))
            }
            return true
        }
        // Publishes are handled where they arrive (no task per waiter): a ready state resumes the
        // caller; after a reconnection the key is read again, off the subscriber's thread.
        let listenerID = try await listener.listen(channel) { signal in
            switch signal {
            case .message(let payload):
                if let meta = try? TaskResultMeta(decoding: payload), meta.state.isReady {
                    self.heard.remember(meta, of: taskID)
                    waiter.finish(.success(meta))
                }
            case .resubscribed:
                Task { _ = await read() }
            }
        }
        defer { listener.stopListening(channel, id: listenerID) }
        // The key is read now that the subscription is confirmed, racing the publish: a result
        // stored after the SUBSCRIBE is heard on the channel, possibly before this read returns.
        // The same task then keeps the time (one task per wait, cancelled when it is over).
        let readThenTime = Task {
            if await read() { return }
            guard let deadline else { return }
            do {
                try await Task.sleep(until: deadline)
                waiter.finish(.failure(CeleriacError(.timeout, "")))
            } catch {}  // cancelled: the wait is over
        }
        defer { readThenTime.cancel() }
        do {
            return try await waiter.value(onCancel: .failure(CancellationError())).get()
        } catch let error as CeleriacError where error.code == .timeout {
            let state = (try? await meta(for: taskID))?.state ?? .pending
            throw CeleriacError(
                .timeout, "task \(taskID) was not ready after \(timeout.map { "\($0)" } ?? "waiting") (state \(state))")
        }
    }

    /// Reads the meta under ``RetryPolicy/resultRead(until:)``: connection errors and transient
    /// server errors (Redis restarting under a waiting caller) are retried every 50 ms until
    /// `deadline`; other errors, and the last such error at the deadline, are thrown.
    private func readSurvivingReconnects(_ taskID: String, until deadline: ContinuousClock.Instant?) async throws
        -> TaskResultMeta?
    {
        try await RetryPolicy.resultRead(until: deadline.map { $0 - .now }).run { try await meta(for: taskID) }
    }

    /// Stops the subscriber used for waiting. Waiting calls end with a timeout or an error.
    public func close() {
        listener.close()
    }
}
