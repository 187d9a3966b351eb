import Foundation
import RESP
import Synchronization

/// A Celery-compatible worker: consumes task messages from Redis queues (sharing them safely with
/// Python Celery workers), runs the registered Swift tasks, and stores states and results where
/// Celery and Celeriac producers read them.
///
/// ```swift
/// let app = try CeleriacApp(brokerURL: "redis://127.0.0.1:6379/0", backendURL: "redis://127.0.0.1:6379/1")
/// let registry = TaskRegistry()
/// try registry.register(Add.self) { arguments, _ in arguments.x + arguments.y }
/// let worker = Worker(app: app, registry: registry, configuration: WorkerConfiguration(queues: ["celery"]))
/// try await worker.run()          // until worker.shutdown() (e.g. on SIGTERM)
/// ```
///
/// The moving parts (see ARCHITECTURE.md): one fetch loop fills the prefetch window
/// (``ReservedMessages``); `concurrency` runners, each on a thread of the worker's own pool, run
/// tasks from it; a ``CompletionWriter`` stores states and acks in batches; a housekeeping loop
/// moves due ETA messages back to their queues, refreshes this worker's unacked entries and sweeps
/// entries of dead workers back to their queues.
public final class Worker: Sendable {
    /// The connections, origin name and publisher used for results, retries and callbacks.
    public let app: CeleriacApp
    /// The tasks this worker runs.
    public let registry: TaskRegistry
    /// How it consumes and runs them.
    public let configuration: WorkerConfiguration
    /// Where it logs.
    public let logger: WorkerLogger

    let consumer: RedisConsumer
    let writer: CompletionWriter
    /// Worker and task events for Flower and `celery events`.
    let events: EventDispatcher
    let reserved = ReservedMessages()
    /// Messages held in memory until their near ETA.
    let delayed = DelayedDeliveries()
    let threadPool: WorkerThreadPool
    /// The fetch loop's thread, shared with its two connections: a fetch, BRPOP and the record
    /// script after it cost no thread switch.
    let fetchThread = DedicatedThreadExecutor(name: "celeriac-fetch")
    let state = SleepingLock(State())
    private let rateLimiters = Mutex<[String: (RateLimit, RateLimiter)]>([:])
    private let stopRequested = AsyncSignal()
    private let coldStopRequested = AsyncSignal()
    private let runnersFinished = AsyncSignal()
    private let fetchingFinished = AsyncSignal()

    struct State {
        var hasStarted = false
        var isStopping = false
        var liveRunners = 0
        /// Tasks being run, by delivery tag.
        var active: [String: ActiveTask] = [:]
        var processed = 0
        /// Revoked task ids: from Redis at start, then from pidbox broadcasts.
        var revoked = LimitedSet(maximum: Worker.maximumRevoked, expiry: .seconds(3 * 3600))
        /// Tasks run, by name (`inspect stats`).
        var totals: [String: Int] = [:]
        var startedAt: Date?
        /// The Lamport clock of control replies.
        var clock = 0
        /// The queues consumed now: the configured ones, changed by `add_consumer`/`cancel_consumer`.
        var queues: [String] = []
        /// Bumped on every change of ``queues``, so the fetch loop re-reads them only then.
        var queuesGeneration = 0
        /// Slots and prefetch window now: the configured ones, changed by `pool_grow`/`pool_shrink`.
        var concurrency = 0
        var prefetch = 0
        /// Runners asked to stop after their current task (`pool_shrink`).
        var retiring = 0
        /// Runners added by `pool_grow` (cancelled with the others at a cold shutdown).
        var addedRunners: [Task<Void, Never>] = []
        /// Chords this worker claimed and is finishing (publishing the body), waited for at shutdown.
        var chordFinishers: [UUID: Task<Void, Never>] = [:]
    }

    struct ActiveTask {
        var delivery: Delivery
        var context: TaskContext
        var started: Date
        var acksLate: Bool
    }

    /// Creates a worker; nothing happens until ``run()``.
    public init(
        app: CeleriacApp, registry: TaskRegistry, configuration: WorkerConfiguration = WorkerConfiguration(),
        logger: WorkerLogger = WorkerLogger()
    ) {
        self.app = app
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        self.consumer = RedisConsumer(pool: app.broker.pool, keys: configuration.keys, nodeName: configuration.hostname)
        self.writer = CompletionWriter(
            backend: app.backend, consumer: consumer, logger: logger, publishLead: configuration.publishLead)
        self.events = EventDispatcher(pool: app.broker.pool, taskEvents: configuration.taskEvents, logger: logger)
        self.threadPool = WorkerThreadPool(threads: configuration.concurrency, name: "celeriac-task")
        state.withLock { state in
            state.queues = configuration.queues
            state.concurrency = configuration.concurrency
            state.prefetch = configuration.prefetch
        }
    }

    deinit {
        // Lets the slot and fetch threads exit (also when `run()` was never called).
        threadPool.stop()
        fetchThread.stop()
    }

    /// Consumes and runs tasks until ``shutdown()``, then shuts down: warm on the first call
    /// (stop fetching, give prefetched messages back to their queues, let running tasks finish within
    /// ``WorkerConfiguration/shutdownGrace``, then store their results within another grace
    /// period), cold on the second (cancel running tasks, give up unwritten results and return).
    /// Neither waits for ever on a Redis that hangs: every call ends at its timeout.
    /// - Throws: ``RedisClientError`` when the broker cannot be reached at start;
    ///   ``CeleriacError`` `invalidConfiguration` when called twice. Once running, Redis outages are
    ///   logged and retried, not thrown.
    public func run() async throws {
        try state.withLock { state in
            guard !state.hasStarted else { throw CeleriacError(.invalidConfiguration, "a worker runs only once") }
            state.hasStarted = true
            state.startedAt = Date()
            state.liveRunners = configuration.concurrency
        }
        _ = try await app.broker.pool.ping()
        await loadRevoked()
        let control = try RedisSubscriber(app.broker.pool.redis, bufferLimit: Self.controlBacklog)
        try await control.subscribe([ControlRequest.channel(database: app.broker.pool.redis.database)])
        if configuration.mingle { await mingle() }
        writer.start()
        events.start()
        sendWorkerEvent("worker-online")
        logger.info(
            "worker.ready",
            [
                "hostname": configuration.hostname, "queues": configuration.queues.joined(separator: ","),
                "concurrency": "\(configuration.concurrency)", "prefetch": "\(configuration.prefetch)",
                "tasks": "\(registry.names.count)", "acks_late": "\(configuration.acksLate)",
                "task_events": "\(configuration.taskEvents)",
            ])

        let fetching = Task(executorPreference: fetchThread) { await self.fetchLoop() }
        let runners = (0..<configuration.concurrency).map { _ in
            Task(executorPreference: threadPool) { await self.runnerLoop() }
        }
        let housekeeping = Task { await self.housekeepingLoop() }
        let delaying = Task { [reserved] in await self.delayed.run { reserved.put([$0]) } }
        let controlling = Task { await self.controlLoop(control) }
        let heartbeats = Task { await self.heartbeatLoop() }

        await stopRequested.wait()
        logger.info("worker.stopping", ["mode": "warm", "running": "\(state.withLock { $0.active.count })"])

        // 1. Runners take no new message; those waiting for a slot (or for their near ETA) go back
        //    to the front of their queues.
        await restore(reserved.close() + delayed.close())
        await delaying.value

        // 2. Stop fetching: the loop ends after its current fetch (BRPOP waits 1 s at most); it is
        //    not interrupted, so that a message popped at that moment is not lost. What it fetched
        //    meanwhile goes back too.
        await firstOf({ await self.fetchingFinished.wait() }, { await self.coldStopRequested.wait() })
        if coldStopRequested.isFired { fetching.cancel() }
        await restore(reserved.takeLeftovers())

        // 3. Let running tasks finish, within the grace period or until a second signal.
        await firstOf(
            { await self.runnersFinished.wait() }, { try? await Task.sleep(for: self.configuration.shutdownGrace) },
            { await self.coldStopRequested.wait() })
        if !runnersFinished.isFired {
            let running = state.withLock { state in
                state.active.values.map { task in
                    task.context.requestStop(.shutdown)
                    return task.delivery
                }
            }
            logger.warning(
                "worker.stopping", ["mode": "cold", "abandoned": "\(running.count)", "note": "acks-late tasks come back after the visibility timeout"])
            for runner in runners + state.withLock({ $0.addedRunners }) { runner.cancel() }
            writer.abandon()
            await firstOf({ await self.runnersFinished.wait() }, { try? await Task.sleep(for: .seconds(1)) })
        }
        housekeeping.cancel()
        await housekeeping.value
        control.close()
        await controlling.value
        if !coldStopRequested.isFired {
            // 4. The last writes, within the grace period or until a second signal: Redis may be
            //    gone or hang, and these waits do not end by themselves then.
            let flushed = AsyncSignal()
            Task {
                await fetching.value
                // A chord claimed in the last writes still needs its body sent (nobody else will).
                await self.writer.waitUntilWritten(self.writer.enqueue([]))
                for finisher in self.state.withLock({ Array($0.chordFinishers.values) }) { await finisher.value }
                flushed.fire()
            }
            await firstOf(
                { await flushed.wait() }, { try? await Task.sleep(for: self.configuration.shutdownGrace) },
                { await self.coldStopRequested.wait() })
            if !flushed.isFired {
                logger.warning(
                    "worker.stopping",
                    ["mode": "cold", "note": "Redis did not take the last writes; their tasks' results are not stored, acks-late tasks come back after the visibility timeout"])
                fetching.cancel()
                for finisher in state.withLock({ Array($0.chordFinishers.values) }) { finisher.cancel() }
                writer.abandon()
            }
        } else {
            // Cold: what is not written yet is given up, so closing the writer does not wait for Redis.
            writer.abandon()
        }
        await writer.close()
        heartbeats.cancel()
        await heartbeats.value
        sendWorkerEvent("worker-offline")
        await events.close()
        threadPool.stop()
        logger.info("worker.stopped", ["hostname": configuration.hostname, "processed": "\(state.withLock { $0.processed })"])
    }

    /// Asks the worker to stop: the first call starts a warm shutdown, the second makes it cold.
    /// ``run()`` returns when the shutdown is done.
    public func shutdown() {
        let first = state.withLock { state -> Bool in
            defer { state.isStopping = true }
            return !state.isStopping
        }
        if first { stopRequested.fire() } else { coldStopRequested.fire() }
    }

    /// Whether a shutdown was requested.
    public var isStopping: Bool { state.withLock { $0.isStopping } }

    /// How many tasks this worker finished (any outcome).
    public var processedCount: Int { state.withLock { $0.processed } }

    /// The queues this worker consumes now (`add_consumer`/`cancel_consumer` change them).
    public var consumedQueues: [String] { state.withLock { $0.queues } }

    /// The ids of the tasks running now.
    public var activeTaskIDs: [String] { state.withLock { $0.active.values.map(\.delivery.message.id) } }

    // MARK: - Fetching

    private func fetchLoop() async {
        defer { fetchingFinished.fire() }
        var (order, generation) = state.withLock { ($0.queues, $0.queuesGeneration) }
        // The fetch and record scripts run on `fetching`, under the fetch reply limits (see
        // WorkerConfiguration.fetchReplyLimits); BRPOP waits on `waiting`, under the standard ones.
        var fetching: RedisConnection?
        var waiting: RedisConnection?
        var fetchConfiguration = app.broker.pool.redis
        fetchConfiguration.replyLimits = configuration.effectiveFetchReplyLimits
        var failures = 0
        var request = RedisConsumer.FetchRequest()
        // A message BRPOP popped that is not recorded yet: only this worker's memory holds it.
        var popped: (raw: [UInt8], queue: String)?
        // After BRPOP handed a message to an idle runner, the queues were most likely empty but
        // for it: wait with BRPOP again rather than run the fetch script first. A message that
        // finds no idle runner (a backlog) sends the loop back to batched fetches.
        var queuesLookEmpty = false
        let policy = RetryPolicy.fetchLoop
        while popped != nil || !isStopping {
            do {
                // The loop's own connections: their thread stays warm between the fetch script,
                // BRPOP and the record script that follows it.
                if fetching == nil { fetching = try await RedisConnection.connect(fetchConfiguration, on: fetchThread) }
                if waiting == nil { waiting = try await RedisConnection.connect(app.broker.pool.redis, on: fetchThread) }
                guard let connection = fetching, let waitingConnection = waiting else { continue }
                // Queues added or cancelled by remote control take effect here.
                if let changed = state.withLock({ $0.queuesGeneration == generation ? nil : ($0.queues, $0.queuesGeneration) }) {
                    (order, generation) = changed
                }
                if order.isEmpty && popped == nil {
                    try await Task.sleep(for: .milliseconds(500))
                    continue
                }
                var fetched: [RedisConsumer.Fetched] = []
                // The queue of a message handed to a runner unrecorded (not in `fetched`).
                var fetchedQueue: String?
                // The one message in `fetched`, when the hand-over attempt decoded it already.
                var alreadyDecoded: TaskMessage?
                if let message = popped {
                    fetched = [try await consumer.record(message, on: connection)]
                    popped = nil
                } else {
                    let room = await reserved.waitForRoom(limit: state.withLock { $0.prefetch }, budget: configuration.prefetchBytes)
                    guard room > 0, !isStopping else { break }
                    if !queuesLookEmpty {
                        // On a connection error the same request is repeated: see RedisConsumer.fetch.
                        fetched = try await consumer.fetch(
                            from: order, limit: room, maximumSize: configuration.maximumMessageSize,
                            byteBudget: configuration.prefetchBytes - reserved.bytes, request: request, on: connection)
                        request = RedisConsumer.FetchRequest(after: request)
                    }
                    queuesLookEmpty = false
                    if fetched.isEmpty {
                        popped = try await consumer.waitForMessage(on: waitingConnection, from: order, timeout: .seconds(1))
                        if let message = popped {
                            switch handOverUnrecorded(message) {
                            case .handed:
                                fetchedQueue = message.queue
                                queuesLookEmpty = true
                            case .kept(let decoded):
                                fetched = [try await consumer.record(message, on: connection)]
                                alreadyDecoded = decoded
                            }
                            popped = nil
                        }
                    }
                }
                if let last = fetched.last?.queue ?? fetchedQueue, order.count > 1, let index = order.firstIndex(of: last) {
                    order.append(order.remove(at: index))
                }
                if failures > 0 { logger.info("redis.reconnected", ["while": "fetching"]) }
                failures = 0
                var ready: [Delivery] = []
                for message in fetched {
                    if let delivery = await receive(message, decoded: alreadyDecoded) { ready.append(delivery) }
                }
                reserved.put(ready)
            } catch is CancellationError {
                break
            } catch {
                if failures == 0 { logger.warning("redis.unreachable", ["while": "fetching", "error": "\(error)", "action": "retrying"]) }
                await fetching?.close()
                await waiting?.close()
                (fetching, waiting) = (nil, nil)
                failures += 1
                try? await Task.sleep(for: policy.delay(after: error, failures: failures, elapsed: .zero) ?? .seconds(5))
                if let message = popped, isStopping, coldStopRequested.isFired {
                    logger.error(
                        "message.lost", ["queue": message.queue, "message": String(decoding: message.raw, as: UTF8.self),
                                         "reason": "popped by BRPOP but Redis stayed unreachable until a cold shutdown"])
                    popped = nil
                }
            }
        }
        await fetching?.close()
        await waiting?.close()
    }

    // MARK: - Running

    private func runnerLoop() async {
        while true {
            let retires = state.withLock { state -> Bool in
                guard state.retiring > 0 else { return false }
                state.retiring -= 1
                return true
            }
            if retires { break }
            var next = reserved.nextIfWaiting()
            if next == nil { next = await reserved.next() }
            guard let delivery = next else { break }
            await execute(delivery)
        }
        let last = state.withLock { state -> Bool in
            state.liveRunners -= 1
            return state.liveRunners == 0
        }
        if last { runnersFinished.fire() }
    }

    /// Adds `count` slots (threads and runners) and widens the prefetch window in proportion
    /// (`pool_grow`), up to ``WorkerConfiguration/maximumConcurrency``. Returns why it did not
    /// (stopping, or the maximum would be passed), `nil` when it grew.
    func growPool(by count: Int) -> String? {
        let perSlot = max(1, configuration.prefetch / configuration.concurrency)
        let maximum = max(configuration.maximumConcurrency, configuration.concurrency)
        let refusal = state.withLock { state -> String? in
            guard state.hasStarted, !state.isStopping else { return "the worker is stopping" }
            guard count >= 1, count <= maximum - state.concurrency else {
                return "growing by \(count) would pass the maximum of \(maximum) slots (--max-concurrency); now \(state.concurrency)"
            }
            state.concurrency += count
            state.prefetch = state.prefetch.addingSaturated(count.multipliedSaturated(by: perSlot))
            state.liveRunners += count
            return nil
        }
        if let refusal { return refusal }
        threadPool.grow(by: count)
        let added = (0..<count).map { _ in Task(executorPreference: threadPool) { await self.runnerLoop() } }
        state.withLock { $0.addedRunners += added }
        logger.info("pool.grown", ["by": "\(count)", "concurrency": "\(state.withLock { $0.concurrency })"])
        return nil
    }

    /// Retires up to `count` slots, never the last one: each stops after its current task; the
    /// prefetch window narrows in proportion (`pool_shrink`). Returns how many will stop.
    func shrinkPool(by count: Int) -> Int {
        let perSlot = max(1, configuration.prefetch / configuration.concurrency)
        let retired = state.withLock { state -> Int in
            let retired = max(0, min(count, state.concurrency - 1))
            state.concurrency -= retired
            state.prefetch = max(1, state.prefetch - retired * perSlot)
            state.retiring += retired
            return retired
        }
        logger.info("pool.shrunk", ["by": "\(retired)", "concurrency": "\(state.withLock { $0.concurrency })"])
        return retired
    }

    /// The slots now (`pool_grow`/`pool_shrink` change them).
    public var currentConcurrency: Int { state.withLock { $0.concurrency } }

    /// The limiter of a task's rate limit, rebuilt when the limit changed.
    func rateLimiter(for task: RegisteredTask) -> RateLimiter? {
        guard let limit = task.settings.rateLimit else { return nil }
        return rateLimiters.withLock { limiters in
            if let (current, limiter) = limiters[task.name], current == limit { return limiter }
            let limiter = RateLimiter(limit)
            limiters[task.name] = (limit, limiter)
            return limiter
        }
    }

    // MARK: - Housekeeping

    private func housekeepingLoop() async {
        let refreshInterval = min(configuration.restoreInterval, configuration.visibilityTimeout / 3)
        var lastSweep = ContinuousClock.now - configuration.restoreInterval
        var lastRefresh = ContinuousClock.now
        while !Task.isCancelled {
            var sleep: Duration = .seconds(1)
            do {
                let (moved, next) = try await consumer.promoteDueMessages()
                if moved > 0 { logger.debug("schedule.due", ["moved": "\(moved)"]) }
                if let next { sleep = max(.milliseconds(5), .seconds(min(next.timeIntervalSinceNow, 1))) }
                if ContinuousClock.now - lastRefresh >= refreshInterval {
                    try await consumer.refresh(heldDeliveryTags())
                    lastRefresh = .now
                }
                if ContinuousClock.now - lastSweep >= configuration.restoreInterval {
                    lastSweep = .now
                    let restored = try await consumer.restoreVisibilityTimedOut(
                        visibilityTimeout: configuration.visibilityTimeout, mutexExpiry: configuration.unackedMutexExpiry)
                    if restored > 0 { logger.warning("unacked.restored", ["count": "\(restored)", "reason": "visibility timeout"]) }
                }
            } catch {
                logger.debug("housekeeping.failed", ["error": "\(error)"])
            }
            sleep = min(sleep, refreshInterval)
            do { try await Task.sleep(for: sleep) } catch { return }
        }
    }

    /// Delivery tags this worker holds unacked: waiting, delayed, and running acks-late tasks.
    private func heldDeliveryTags() -> [String] {
        let waiting = reserved.snapshot.map(\.deliveryTag)
        let running = state.withLock { state in state.active.filter { $0.value.acksLate }.map(\.key) }
        return waiting + delayed.deliveryTags + running
    }

    /// Puts held messages back at the front of their queues (warm shutdown).
    func restore(_ deliveries: [Delivery]) async {
        guard !deliveries.isEmpty else { return }
        var restored = 0
        for delivery in deliveries {
            do {
                if !delivery.isRecorded {
                    _ = try await consumer.pool.rpush(delivery.listKey, [delivery.raw])
                    restored += 1
                } else if try await consumer.restore(raw: delivery.raw, deliveryTag: delivery.deliveryTag, listKey: delivery.listKey) {
                    restored += 1
                }
            } catch {
                logger.error(
                    "restore.failed",
                    ["id": delivery.message.id, "error": "\(error)", "note": "it comes back after the visibility timeout"])
            }
        }
        logger.info("worker.restored", ["count": "\(restored)", "to": "front of their queues"])
    }
}

/// Runs the operations concurrently and returns when the first one returns; the others are
/// cancelled (each must return promptly when cancelled).
func firstOf(_ operations: (@Sendable () async -> Void)...) async {
    await withTaskGroup(of: Void.self) { group in
        for operation in operations { group.addTask { await operation() } }
        await group.next()
        group.cancelAll()
    }
}
