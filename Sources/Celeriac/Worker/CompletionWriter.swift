import Foundation
import RESP
import Synchronization

/// Writes what running tasks produce – result states and acks – in batches: everything that
/// arrives while one batch is being written goes out in the next, as one pipeline to the backend
/// (states, in order) and one MULTI to the broker (acks). Acks-late acks go out only after the
/// states, so such an ack never reaches Redis before its task's state; early acks are independent
/// of the states (and may reach Redis after them: see below).
/// Chord part returns go in one pipeline after the states, before the acks-late acks.
///
/// Connection errors are retried with backoff until the write succeeds or the writer is closed, so
/// a Redis restart under a busy worker loses nothing.
///
/// States, chord part returns and acks-late acks are written by a loop on a thread of its own,
/// shared with its own connections to the backend and the broker: a batch's writes cost no
/// thread switches (the store's PUBLISH is what a waiting `get()` hears, so this is on every round
/// trip's path). Early acks, which nothing waits for, go through a second loop on the app's broker
/// pool, so that a task's ack at its start never holds up its result at its end.
///
/// When that loop is idle, a task's thread that finished stores its own result instead, on a
/// connection it uses synchronously (``storeHereIfIdle(_:)``): one thread wake-up fewer before the
/// PUBLISH. A busy worker's results still go out in the loop's batches.
///
/// **Publish first** (with a ``publishLead`` above zero): a ready state (SUCCESS, FAILURE,
/// REVOKED) that someone is subscribed to is published at once and stored `publishLead` later,
/// by a third loop. Celery's client subscribes before it sends a task and then reads the result
/// key once; when that read finds the result (a worker this fast has stored it by then), the
/// client leaves its pub/sub replies unread (the SUBSCRIBE confirmation, the PUBLISH, later the
/// UNSUBSCRIBE confirmation) and reads the whole backlog at the next task whose read misses: the
/// 10–340 ms stalls of issue #31. Stored a moment after the PUBLISH, the read misses and the
/// client reads its replies as they come. Nobody subscribed: stored at once. Only batches of
/// states alone go this way: acks-late acks and chord parts follow stores that are in Redis.
/// A SUCCESS is never overwritten either way.
final class CompletionWriter: Sendable {
    enum Item: Sendable {
        /// Store a state (and publish it).
        case store(TaskResultMeta)
        /// Ack a message that started (early ack): independent of any store.
        case ack(String)
        /// Ack a message after the states queued before it are stored (acks-late, dead letters).
        case ackAfterStores(String)
        /// Return a chord header task's part after the states are stored; `then` gets the
        /// outcome (`nil` when it could not be returned).
        case chordPart(ChordCounter.Part, then: @Sendable (ChordCounter.PartReturn?) -> Void)
    }

    private struct State {
        var written = 0
        var waiters: [(sequence: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var isClosed = false
        var isAbandoned = false
    }

    private let backend: RedisResultBackend
    private let thread = DedicatedThreadExecutor(name: "celeriac-writer")
    /// The writer's connections to the backend and the broker, on its thread.
    private let backendPool: RedisConnectionPool
    private let brokerPool: RedisConnectionPool
    /// The worker's consumer acking through `brokerPool` (acks-late), and through the worker's
    /// own pool (early acks).
    private let consumer: RedisConsumer
    private let earlyAckConsumer: RedisConsumer
    private let logger: WorkerLogger
    private let queue = BatchQueue<Item>()
    private let earlyAcks = BatchQueue<String>()
    /// How long a published ready state waits for its SET (see "Publish first"); zero: SET, then
    /// PUBLISH, as Celery's worker does.
    let publishLead: Duration
    /// States published first, to be stored once due.
    private let delayedStores = BatchQueue<DelayedStore>()

    private struct DelayedStore: Sendable {
        var meta: TaskResultMeta
        var due: ContinuousClock.Instant
    }
    private let state = SleepingLock(State())
    private let loops = Mutex<[Task<Void, Never>]>([])
    /// The connection a task's thread stores its result on when the writer is idle (see
    /// ``storeHereIfIdle(_:)``): connected by the writer's loop, dropped after an error.
    private let direct = Mutex(DirectConnection())

    private struct DirectConnection {
        var connection: SynchronousRedisConnection?
        /// When the writer's loop may try to connect again after a failed attempt.
        var nextAttempt = ContinuousClock.now
    }

    /// What ``storeHereIfIdle(_:)`` did.
    enum Submission: Equatable {
        /// The states are stored (the caller's thread wrote them): everything up to `sequence`
        /// is written.
        case storedHere(sequence: Int)
        /// Queued for the writer's loop, as ``enqueue(_:)`` does.
        case queued(sequence: Int)

        /// The sequence number for ``waitUntilWritten(_:)``.
        var sequence: Int {
            switch self {
            case .storedHere(let sequence), .queued(let sequence): sequence
            }
        }
    }

    init(backend: RedisResultBackend, consumer: RedisConsumer, logger: WorkerLogger, publishLead: Duration = .zero) {
        self.backend = backend
        self.publishLead = max(.zero, publishLead)
        let pool = RedisConnectionPool.Configuration(maximumConnections: 2)
        backendPool = RedisConnectionPool(backend.pool.redis, configuration: pool, connectionsOn: thread)
        brokerPool = RedisConnectionPool(consumer.pool.redis, configuration: pool, connectionsOn: thread)
        self.consumer = RedisConsumer(pool: brokerPool, keys: consumer.keys, nodeName: consumer.nodeName)
        self.earlyAckConsumer = consumer
        self.logger = logger
    }

    deinit {
        thread.stop()
    }

    /// Starts the writing loops.
    func start() {
        let writing = Task(executorPreference: thread) { await self.run() }
        let acking = Task {
            while let (tags, _) = await self.earlyAcks.next() {
                await self.retrying("ack \(tags.count) message(s)") { try await self.earlyAckConsumer.ack(tags) }
            }
        }
        let storingLater = Task(executorPreference: thread) {
            while let (items, _) = await self.delayedStores.next() {
                if let due = items.last?.due { try? await Task.sleep(until: due, clock: .continuous) }
                let metas = items.map(\.meta)
                await self.retrying("store \(metas.count) published task state(s)") {
                    _ = try await self.backend.store(metas, on: self.backendPool, mode: .storeOnly)
                }
            }
        }
        loops.withLock { $0 = [writing, acking, storingLater] }
    }

    /// The store mode for a batch of states alone.
    private var statesMode: RedisResultBackend.StoreMode { publishLead > .zero ? .publishFirst : .storeThenPublish }

    /// Queues states that were published first for their SET, due `publishLead` from now.
    private func storeLater(_ metas: [TaskResultMeta]) {
        guard !metas.isEmpty else { return }
        let due = ContinuousClock.now + publishLead
        delayedStores.append(metas.map { DelayedStore(meta: $0, due: due) })
    }

    /// Queues items for the next batch. Returns a sequence number for ``waitUntilWritten(_:)``
    /// (which early acks are not part of).
    @discardableResult
    func enqueue(_ items: [Item]) -> Int {
        var ordered: [Item] = []
        var acks: [String] = []
        for item in items {
            if case .ack(let tag) = item { acks.append(tag) } else { ordered.append(item) }
        }
        if !acks.isEmpty { earlyAcks.append(acks) }
        return ordered.isEmpty && !items.isEmpty ? queue.appendedCount : queue.append(ordered)
    }

    /// Like ``enqueue(_:)``, but when the items are states (and early acks) only and the writer
    /// is idle, the states are stored on the calling thread, which blocks for the round trip: a
    /// lone result then reaches Redis without waking the writer's thread first (a waiting `get()`
    /// hears it one thread switch sooner; measured, 3 % of a round trip). Only for threads that
    /// may block (task threads). Order is kept: the caller takes the writer's turn
    /// (``BatchQueue/claimIdleTurn(count:)``), so nothing queued before is still unwritten and
    /// nothing queued meanwhile is written before.
    @discardableResult
    func storeHereIfIdle(_ items: [Item]) -> Submission {
        var metas: [TaskResultMeta] = []
        var acks: [String] = []
        for item in items {
            switch item {
            case .store(let meta): metas.append(meta)
            case .ack(let tag): acks.append(tag)
            case .ackAfterStores, .chordPart: return .queued(sequence: enqueue(items))
            }
        }
        guard !metas.isEmpty, let connection = direct.withLock({ $0.connection }),
            let sequence = queue.claimIdleTurn(count: metas.count)
        else { return .queued(sequence: enqueue(items)) }
        if !acks.isEmpty { earlyAcks.append(acks) }
        do {
            storeLater(try backend.store(metas, on: connection, mode: statesMode))
        } catch let error where error is RedisClientError || error.isTemporaryRedisFailure {
            // The writer's loop stores them (again, if they reached Redis: harmless), with its
            // retries, and connects a new connection.
            direct.withLock { $0.connection = nil }
            logger.debug("write.direct_failed", ["error": "\(error)", "action": "handing the states to the writer"])
            queue.releaseTurn(unhandled: metas.map { .store($0) })
            return .queued(sequence: sequence)
        } catch {
            // A server error would come back from the writer's loop too: given up, as there.
            logger.error("write.failed", ["while": "store \(metas.count) task state(s)", "error": "\(error)"])
        }
        markWritten(upTo: sequence)
        queue.releaseTurn()
        return .storedHere(sequence: sequence)
    }

    /// Waits until everything up to `sequence` is written (or the writer was closed); a state
    /// published first counts as written once published, its SET following within the lead.
    func waitUntilWritten(_ sequence: Int) async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.written >= sequence || state.isClosed { return true }
                state.waiters.append((sequence, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Writes what is queued, then stops the loop. Items enqueued later are not written.
    func close() async {
        if !state.withLock({ $0.isAbandoned }) { await waitUntilWritten(queue.appendedCount) }
        state.withLock { $0.isClosed = true }
        queue.close()
        earlyAcks.close()
        let running = loops.withLock { $0 }
        // The writing loop first: it may still leave states to be stored later.
        if let writing = running.first { await writing.value }
        delayedStores.close()
        for loop in running.dropFirst() { await loop.value }
        let waiters = state.withLock { state in
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume() }
        direct.withLock { direct in
            defer { direct.connection = nil }
            return direct.connection
        }?.close()
        await backendPool.close()
        await brokerPool.close()
    }

    /// Stops retrying writes that fail for want of Redis (cold shutdown): ``close()`` then returns
    /// without waiting for Redis. Unwritten acks come back by the visibility timeout.
    func abandon() {
        state.withLock { $0.isAbandoned = true }
    }

    private func run() async {
        connectDirectConnection()
        while let (batch, sequence) = await queue.next() {
            await write(batch)
            markWritten(upTo: sequence)
            connectDirectConnection()
        }
    }

    /// Records that everything up to `sequence` is written, and resumes who waits for it.
    private func markWritten(upTo sequence: Int) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.written = sequence
            let ready = state.waiters.filter { $0.sequence <= sequence }.map(\.continuation)
            state.waiters.removeAll { $0.sequence <= sequence }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    /// (Re)connects the connection of ``storeHereIfIdle(_:)`` when it has none, on the writer's
    /// thread (which may block; a task's thread never connects), at most once a second.
    private func connectDirectConnection() {
        let due = direct.withLock { $0.connection == nil && $0.nextAttempt <= .now }
        guard due, !state.withLock({ $0.isAbandoned }) else { return }
        let connection = try? SynchronousRedisConnection.connect(backend.pool.redis)
        direct.withLock { direct in
            direct.connection = connection
            direct.nextAttempt = .now + .seconds(1)
        }
    }

    /// Whether a task's thread may store states itself now (for tests).
    var canStoreHere: Bool { direct.withLock { $0.connection != nil } }

    private func write(_ batch: [Item]) async {
        var metas: [TaskResultMeta] = []
        var lateTags: [String] = []
        var parts: [(ChordCounter.Part, @Sendable (ChordCounter.PartReturn?) -> Void)] = []
        for item in batch {
            switch item {
            case .store(let meta): metas.append(meta)
            case .ack(let tag): lateTags.append(tag)  // not queued here (see enqueue)
            case .ackAfterStores(let tag): lateTags.append(tag)
            case .chordPart(let part, let then): parts.append((part, then))
            }
        }
        let (states, late) = (metas, lateTags)
        if !states.isEmpty {
            // States alone may be published first; anything ordered after them needs them stored.
            let mode = late.isEmpty && parts.isEmpty ? statesMode : .storeThenPublish
            let left = await retrying("store \(states.count) task state(s)") {
                try await self.backend.store(states, on: self.backendPool, mode: mode)
            }
            storeLater(left ?? [])
        }
        if !parts.isEmpty {
            let chords = ChordCounter(pool: backendPool, expires: backend.resultExpires)
            let requests = parts.map(\.0)
            let outcomes = await retrying("return \(parts.count) chord part(s)") { try await chords.returnParts(requests) }
            for (index, (part, then)) in parts.enumerated() {
                switch outcomes?[index] {
                case .success(let outcome)?:
                    then(outcome)
                case .failure(let error)?:
                    logger.error("chord.part_failed", ["group": part.groupID, "id": part.taskID, "error": "\(error)"])
                    then(nil)
                case nil:
                    then(nil)
                }
            }
        }
        await retrying("ack \(late.count) message(s)") { try await self.consumer.ack(late) }
    }

    /// Runs `operation` under ``RetryPolicy/workerLoop`` until it succeeds or the writer is
    /// abandoned: connection errors and transient server errors wait and retry (Redis restarting,
    /// or still `LOADING` its data after a restart), other server errors are logged and the items
    /// given up (they would fail the same way again). Returns the operation's value, `nil` when
    /// it was given up.
    @discardableResult
    private func retrying<T: Sendable>(_ what: String, _ operation: @Sendable () async throws -> T) async -> T? {
        // Abandoned (cold shutdown): not even one try, which could wait for a hanging Redis.
        guard !state.withLock({ $0.isAbandoned }) else { return nil }
        var reported = false
        do {
            let value = try await RetryPolicy.workerLoop.run(
                operation,
                onRetry: { error, _ in
                    if !reported { logger.warning("redis.unreachable", ["while": what, "error": "\(error)", "action": "retrying"]) }
                    reported = true
                },
                stopping: { state.withLock { $0.isAbandoned } })
            if reported { logger.info("redis.reconnected", ["while": what]) }
            return value
        } catch {
            if !error.isTemporaryRedisFailure { logger.error("write.failed", ["while": what, "error": "\(error)"]) }
            return nil
        }
    }
}
