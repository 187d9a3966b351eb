import Foundation
import RESP
import Synchronization

/// How a ``Beat`` replica behaves.
public struct BeatConfiguration: Sendable {
    /// This replica's name, stored in the leader key while it leads.
    public var nodeName: String
    /// How long leadership lasts without renewal: if the leader dies, another replica takes over
    /// within this time. The leader renews it every third of it.
    public var lease: Duration
    /// Runs at most this late are each sent (catching up after a leader change or a short outage);
    /// older ones are "missed" and follow the entry's ``MissedRunPolicy``.
    public var catchUpWindow: Duration
    /// Prefix of the beat's Redis keys (`<prefix>.leader`, `<prefix>.last-run`).
    public var keyPrefix: String

    /// Defaults: a 5 s lease, runs up to 30 s late still sent one by one.
    public init(
        nodeName: String = "beat-\(ProcessInfo.processInfo.processIdentifier)@\(ProcessInfo.processInfo.hostName)",
        lease: Duration = .seconds(5), catchUpWindow: Duration = .seconds(30), keyPrefix: String = "celeriac.beat"
    ) {
        self.nodeName = nodeName
        self.lease = max(lease, .milliseconds(300))
        self.catchUpWindow = catchUpWindow
        self.keyPrefix = keyPrefix
    }

    /// The string key naming the current leader (PX = lease).
    public var leaderKey: String { keyPrefix + ".leader" }
    /// The hash of each entry's last handled run time (epoch milliseconds).
    public var lastRunKey: String { keyPrefix + ".last-run" }
}

/// Celery beat, safe to run as several replicas: sends each entry's tasks on schedule.
///
/// One replica leads at a time (a Redis lock with a lease it renews); the others wait and take
/// over within the lease if the leader dies. Each run is sent **exactly once** across replicas: the
/// send is one Lua script that compares the run time with the entry's last run in Redis, records
/// it and pushes the message, so even two replicas that both believe they lead cannot send a run
/// twice. Last-run times live in Redis, so a restart neither repeats nor forgets runs.
///
/// ```swift
/// let schedule = try BeatSchedule(contentsOf: "beat.json")
/// let beat = Beat(app: app, schedule: schedule)
/// try await beat.run()   // until beat.shutdown()
/// ```
public final class Beat: Sendable {
    /// Where tasks are sent.
    public let app: CeleriacApp
    /// What is sent when.
    public let schedule: BeatSchedule
    /// Lease, keys, node name.
    public let configuration: BeatConfiguration
    /// Where it logs.
    public let logger: WorkerLogger

    private struct State {
        /// Until when this replica may act as leader: the lease as measured from just before its
        /// last successful acquire/renew, so it ends here before Redis expires the key.
        var leadsUntil: ContinuousClock.Instant?
        var isStopping = false
        var sent = 0
    }

    private let state = Mutex(State())
    private let stopSignal = AsyncSignal()

    /// Creates a beat replica; nothing happens until ``run()``.
    public init(
        app: CeleriacApp, schedule: BeatSchedule, configuration: BeatConfiguration = BeatConfiguration(),
        logger: WorkerLogger = WorkerLogger()
    ) {
        self.app = app
        self.schedule = schedule
        self.configuration = configuration
        self.logger = logger
    }

    /// Whether this replica leads now: it renewed its lease less than a lease ago. At most one
    /// replica answers `true` at any moment (Redis expires the key later than this replica's
    /// belief ends).
    public var isLeader: Bool {
        state.withLock { state in state.leadsUntil.map { ContinuousClock.now < $0 } ?? false }
    }

    /// How many runs this replica sent.
    public var sentCount: Int { state.withLock { $0.sent } }

    /// Stops ``run()`` (leadership is released at once, so another replica takes over quickly).
    public func shutdown() {
        state.withLock { $0.isStopping = true }
        stopSignal.fire()
    }

    // KEYS[1] leader; ARGV[1] node, ARGV[2] lease ms. Returns 1 if this node leads (acquired or renewed).
    private static let leadScript = RedisScript(
        """
        local holder = redis.call('GET', KEYS[1])
        if holder == ARGV[1] then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return 1
        end
        if not holder then
            redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
            return 1
        end
        return 0
        """)

    // KEYS[1] leader; ARGV[1] node.
    private static let resignScript = RedisScript(
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """)

    // Sends (or skips) one run, once: KEYS[1] last-run hash, KEYS[2] queue list, KEYS[3]/KEYS[4]
    // binding sets; ARGV[1] entry, ARGV[2] run time (ms), ARGV[3] message ('' = record only),
    // ARGV[4] binding member. Returns 1 if this call handled the run, 0 if it was handled before.
    private static let fireScript = RedisScript(
        """
        local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
        if last >= tonumber(ARGV[2]) then return 0 end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        if ARGV[3] ~= '' then
            redis.call('SADD', KEYS[3], ARGV[4])
            redis.call('SADD', KEYS[4], ARGV[4])
            redis.call('LPUSH', KEYS[2], ARGV[3])
        end
        return 1
        """)

    /// Runs until ``shutdown()`` or until the task awaiting it is cancelled: leads when it can and
    /// sends due runs while leading; leadership is released on the way out.
    /// - Throws: ``RedisClientError`` when Redis cannot be reached at start. Later outages are
    ///   logged and retried.
    public func run() async throws {
        _ = try await app.broker.pool.ping()
        let pool = app.broker.pool
        let leaseMilliseconds = BeatTiming.milliseconds(configuration.lease)
        let tick = configuration.lease / 3
        // Where each entry's schedule continues from: its last run in Redis, else the start.
        var references: [String: Date] = [:]
        let started = Date()
        logger.info(
            "beat.ready",
            ["node": configuration.nodeName, "entries": "\(schedule.entries.count)", "lease": "\(configuration.lease)"])
        var failures = 0
        // Cancelling the task that awaits run() stops it as shutdown() does (without this, every
        // sleep would return at once and the loop would spin).
        await withTaskCancellationHandler {
            while !state.withLock({ $0.isStopping }) {
                var sleep = tick
                do {
                    let asked = ContinuousClock.now
                    let wasLeader = isLeader
                    let leads =
                        try await pool.evalScript(
                            Self.leadScript, keys: [configuration.leaderKey], arguments: [configuration.nodeName, leaseMilliseconds]
                        ).int == 1
                    state.withLock { $0.leadsUntil = leads ? asked + configuration.lease : nil }
                    if leads != wasLeader {
                        logger.info(leads ? "beat.leading" : "beat.following", ["node": configuration.nodeName])
                        references = [:]
                    }
                    if leads {
                        if references.isEmpty { references = try await loadReferences(default: started) }
                        let now = Date()
                        for entry in schedule.entries where isLeader {
                            let reference = references[entry.name] ?? started
                            references[entry.name] = try await sendDueRuns(of: entry, after: reference, now: now)
                        }
                        let nextDue = schedule.entries.compactMap { entry in
                            entry.timing.nextRun(after: references[entry.name] ?? started)
                        }.min()
                        if let nextDue {
                            let wait = min(max(nextDue.timeIntervalSinceNow, 0), tick.timeInterval)
                            sleep = min(tick, .milliseconds(Int64((wait * 1000).rounded(.up)) + 1))
                        }
                    }
                    failures = 0
                } catch {
                    if failures == 0 { logger.warning("redis.unreachable", ["while": "beat", "error": "\(error)", "action": "retrying"]) }
                    failures += 1
                    state.withLock { $0.leadsUntil = nil }
                    references = [:]
                }
                let pause = sleep
                await firstOf({ try? await Task.sleep(for: pause) }, { await self.stopSignal.wait() })
            }
        } onCancel: {
            self.shutdown()
        }
        if isLeader {
            _ = try? await pool.evalScript(Self.resignScript, keys: [configuration.leaderKey], arguments: [configuration.nodeName])
        }
        state.withLock { $0.leadsUntil = nil }
        logger.info("beat.stopped", ["node": configuration.nodeName, "sent": "\(sentCount)"])
    }

    /// Each entry's last handled run time from Redis.
    private func loadReferences(default start: Date) async throws -> [String: Date] {
        let stored = try await app.broker.pool.hgetall(configuration.lastRunKey)
        var references: [String: Date] = [:]
        for entry in schedule.entries {
            if let bytes = stored[entry.name], let milliseconds = Double(String(decoding: bytes, as: UTF8.self)),
                CeleryTimestamp.secondsSince1970.contains(milliseconds / 1000),
                milliseconds / 1000 <= start.timeIntervalSince1970 + 86_400
            {
                references[entry.name] = Date(timeIntervalSince1970: milliseconds / 1000)
            } else {
                if let bytes = stored[entry.name] {
                    // Written by something else, or a clock a day ahead: run on from now.
                    logger.warning(
                        "beat.last_run_ignored",
                        ["entry": entry.name, "stored": String(decoding: bytes.prefix(40), as: UTF8.self), "key": configuration.lastRunKey])
                }
                references[entry.name] = start
            }
        }
        return references
    }

    /// Sends the entry's runs due by `now` after `reference`; returns the new reference. Runs later
    /// than the catch-up window are missed: one is sent (run-once) or none (skip).
    private func sendDueRuns(of entry: BeatEntry, after reference: Date, now: Date) async throws -> Date {
        var reference = reference
        while let due = entry.timing.nextRun(after: reference), due <= now {
            if now.timeIntervalSince(due) > configuration.catchUpWindow.timeInterval {
                let latest = entry.timing.lastRun(atOrBefore: now, after: reference) ?? due
                let send = entry.missed == .runOnce
                if try await fire(entry, at: latest, send: send) {
                    logger.warning(
                        "beat.missed", ["entry": entry.name, "run": CeleryTimestamp.format(latest), "action": send ? "sent once" : "skipped"])
                }
                return latest
            }
            _ = try await fire(entry, at: due, send: true)
            reference = due
        }
        return reference
    }

    /// Runs the fire script for one run time. Returns whether this call handled it.
    private func fire(_ entry: BeatEntry, at runTime: Date, send: Bool) async throws -> Bool {
        var message = app.message(entry.task, args: entry.args, kwargs: entry.kwargs, options: entry.options)
        message.headers["celery_beat_task"] = true
        message.headers["celeriac_beat_run"] = .string(CeleryTimestamp.format(runTime))
        let queue = entry.options.queue ?? TaskOptions.defaultQueue
        let member = QueueKeys.bindingMember(queue: queue, exchange: queue, routingKey: queue)
        let milliseconds = Int64((runTime.timeIntervalSince1970 * 1000).rounded())
        let handled =
            try await app.broker.pool.evalScript(
                Self.fireScript,
                keys: [
                    configuration.lastRunKey, QueueKeys.listKey(queue: queue, priority: message.priority),
                    QueueKeys.bindingKey(exchange: queue), QueueKeys.permanentBindingKey(exchange: queue),
                ],
                arguments: [entry.name, milliseconds, send ? message.encoded() : [], member]
            ).int == 1
        if handled && send {
            state.withLock { $0.sent += 1 }
            logger.info(
                "beat.sent", ["entry": entry.name, "task": entry.task, "id": message.id, "run": CeleryTimestamp.format(runTime)])
        }
        return handled
    }
}
