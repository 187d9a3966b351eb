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
    let rateLimiters = Mutex<[String: (RateLimit, RateLimiter)]>([:])
    let stopRequested = AsyncSignal()
    let coldStopRequested = AsyncSignal()
    let runnersFinished = AsyncSignal()
    let fetchingFinished = AsyncSignal()

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
    /// Neither waits for ever on a Redis that hangs: every call ends at its timeout. Cancelling the
    /// task that awaits `run()` is a warm shutdown too (it does not cut the grace periods short).
    /// - Throws: ``RedisClientError`` when the broker cannot be reached at start;
    ///   ``CeleriacError`` `invalidConfiguration` when called twice, or when the broker or backend
    ///   runs a Redis older than ``RedisServerRequirement/minimumVersion``. Once running, Redis outages are
    ///   logged and retried, not thrown.
    public func run() async throws {
        try state.withLock { state in
            guard !state.hasStarted else { throw CeleriacError(.invalidConfiguration, "a worker runs only once") }
            state.hasStarted = true
            state.startedAt = Date()
            state.liveRunners = configuration.concurrency
        }
        _ = try await app.broker.pool.ping()
        for pool in [app.broker.pool, app.backend.pool] {
            if let refusal = RedisServerRequirement.refusal(version: try await pool.serverVersion(), server: pool.redis.redactedURL) {
                throw CeleriacError(.invalidConfiguration, refusal)
            }
        }
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

        // Cancelling the task that awaits run() asks for a warm shutdown, as shutdown() does.
        await withTaskCancellationHandler {
            await stopRequested.wait()
        } onCancel: {
            self.shutdown()
        }
        // The shutdown runs in a task of its own: a cancelled caller must not cut its grace
        // periods short (a second shutdown() is what makes it cold).
        let loops = Loops(
            fetching: fetching, runners: runners, housekeeping: housekeeping, delaying: delaying, controlling: controlling,
            heartbeats: heartbeats, control: control)
        await Task { await self.shutDown(loops) }.value
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
}
