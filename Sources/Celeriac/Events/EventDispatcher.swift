import Foundation
import RESP
import Synchronization

/// Publishes a worker's events (protocol section 6) without making anyone wait: events are
/// queued and published by one loop, everything queued meanwhile in one pipeline. Events are
/// best effort, as in Celery: listeners that are not subscribed miss them, and while Redis is
/// unreachable they are dropped (logged once).
///
/// Worker events (online, heartbeat, offline) are always sent; task events only while enabled
/// (`-E`, or `enable_events` by remote control).
final class EventDispatcher: Sendable {
    private struct State {
        var taskEvents: Bool
        var isFailing = false
    }

    private let pool: RedisConnectionPool
    private let logger: WorkerLogger
    private let queue = BatchQueue<CeleryEvent>()
    private let state: Mutex<State>
    private let loop = Mutex<Task<Void, Never>?>(nil)

    init(pool: RedisConnectionPool, taskEvents: Bool, logger: WorkerLogger) {
        self.pool = pool
        self.logger = logger
        self.state = Mutex(State(taskEvents: taskEvents))
    }

    /// Whether task events are sent.
    var taskEventsEnabled: Bool { state.withLock { $0.taskEvents } }

    /// Turns task events on or off. Returns whether that changed anything.
    @discardableResult
    func setTaskEvents(_ enabled: Bool) -> Bool {
        state.withLock { state in
            defer { state.taskEvents = enabled }
            return state.taskEvents != enabled
        }
    }

    /// Starts the publishing loop.
    func start() {
        let task = Task { await self.run() }
        loop.withLock { $0 = task }
    }

    /// Queues an event (dropped after ``close()``).
    func send(_ event: CeleryEvent) {
        queue.append([event])
    }

    /// Publishes what is queued, then stops.
    func close() async {
        queue.close()
        await loop.withLock { $0 }?.value
    }

    private func run() async {
        let database = pool.redis.database
        while let (batch, _) = await queue.next() {
            let commands = batch.map { RESPCommand("PUBLISH", $0.channel(database: database), $0.encoded()) }
            do {
                _ = try await pool.pipeline(commands)
                let recovered = state.withLock { state in
                    defer { state.isFailing = false }
                    return state.isFailing
                }
                if recovered { logger.info("events.resumed") }
            } catch {
                let first = state.withLock { state in
                    defer { state.isFailing = true }
                    return !state.isFailing
                }
                if first { logger.warning("events.dropped", ["error": "\(error)", "note": "events are best effort"]) }
            }
        }
    }
}
