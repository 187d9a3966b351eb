import Foundation
import RESP

/// How a ``Worker`` consumes and runs tasks (Celery's worker options).
public struct WorkerConfiguration: Sendable {
    /// The queues to consume (`-Q`), in round-robin order.
    public var queues: [String]
    /// How many tasks run at once (`-c`), each slot with its own thread for blocking work.
    public var concurrency: Int
    /// How many fetched messages may wait for a free slot (`--prefetch`); Celery's default is
    /// 4 × concurrency.
    public var prefetch: Int
    /// The most slots `pool_grow` may reach (`--max-concurrency`); by default 256, or
    /// ``concurrency`` when that is more. A remote command cannot start threads without bound.
    public var maximumConcurrency: Int
    /// The most envelope bytes the prefetch window holds waiting (`--prefetch-bytes`, default
    /// 128 MiB); a fetch may pass it by the messages it brings.
    public var prefetchBytes = 128 * 1024 * 1024
    /// The largest message the worker takes (`--max-message-size`, default 64 MiB): a larger
    /// one is dead-lettered (FAILURE for its id) without its body being decoded.
    public var maximumMessageSize = TaskMessage.defaultMaximumSize
    /// The reply limits of the fetch loop's connection (the fetch and record scripts); by default
    /// a bulk string of at most ``maximumMessageSize`` plus 64 KiB. The fetch script dead-letters
    /// larger messages inside Redis, so no fetch reply needs more; a reply past these limits
    /// fails the connection, as any reply past its limits does. (A `BRPOP` reply on an idle
    /// worker's waiting connection keeps the standard limits, Redis' own largest string: its
    /// message has already left the list, and failing the read would lose it.)
    public var fetchReplyLimits: RESPReplyLimits?

    /// The limits the fetch loop's connection uses: ``fetchReplyLimits`` or the default from
    /// ``maximumMessageSize``.
    public var effectiveFetchReplyLimits: RESPReplyLimits {
        if let fetchReplyLimits { return fetchReplyLimits }
        // Saturating: a maximum near Int.max must not wrap round to a limit that refuses everything.
        let (bulk, overflow) = maximumMessageSize.addingReportingOverflow(64 * 1024)
        return RESPReplyLimits(maximumBulkLength: overflow ? .max : bulk)
    }
    /// How long a finished task's PUBLISH comes before its SET when someone is subscribed to its
    /// result (`--publish-lead`; zero, the default, stores first, as Celery's worker does). With
    /// Celery's client, 1 ms keeps round trips free of the 10–340 ms stalls of issue #31 (see
    /// ``CompletionWriter``), at a price: a reader of the key (not of the channel) sees the result
    /// up to the lead later than a subscriber, also a Python client reading the meta right after
    /// its `get()` returned. Acks-late tasks and chord parts are stored first either way.
    public var publishLead: Duration = .zero
    /// The node name (`-n`), `name@host`.
    public var hostname: String
    /// Ack after a task finished rather than when it starts (`acks_late`), for tasks whose settings
    /// do not say.
    public var acksLate: Bool
    /// How long an unacked message may go without its consumer refreshing it before any worker's
    /// sweep puts it back on its queue (kombu's `visibility_timeout`, 1 h).
    public var visibilityTimeout: Duration
    /// How often this worker sweeps for timed-out unacked messages and refreshes its own.
    public var restoreInterval: Duration
    /// How long the sweep's `unacked_mutex` lock lives unless released (kombu's
    /// `unacked_mutex_expire`, 300 s): a worker killed mid-sweep stops every worker's sweeps for
    /// this long.
    public var unackedMutexExpiry: Duration
    /// How long a warm shutdown waits for running tasks.
    public var shutdownGrace: Duration
    /// Countdown/ETA messages due further away than this are held in Redis
    /// (``ConsumerKeys/scheduled``) rather than by the worker.
    public var scheduleThreshold: Duration
    /// Store Celery's extended result fields (name, args, kwargs, worker, retries, queue).
    public var resultExtended: Bool
    /// Send task events (`task-received`, `task-succeeded`, ...) for Flower and `celery events`
    /// (Celery's `-E`); remote control can turn them on and off. Worker events (online,
    /// heartbeat, offline) are always sent.
    public var taskEvents: Bool
    /// Ask the running workers (Celery's mingle `hello`, 1 s) for their revoked ids at start;
    /// Python workers keep revokes only in memory.
    public var mingle: Bool
    /// The broker bookkeeping keys.
    public var keys: ConsumerKeys

    /// Celery's defaults: queue `celery`, one slot per core, prefetch 4 × concurrency, early ack.
    public init(
        queues: [String] = [TaskOptions.defaultQueue],
        concurrency: Int = ProcessInfo.processInfo.activeProcessorCount, prefetch: Int? = nil, maximumConcurrency: Int? = nil,
        hostname: String = WorkerConfiguration.defaultHostname(), acksLate: Bool = false,
        visibilityTimeout: Duration = .seconds(3600), restoreInterval: Duration = .seconds(10),
        unackedMutexExpiry: Duration = .seconds(300), shutdownGrace: Duration = .seconds(30),
        scheduleThreshold: Duration = .seconds(1),
        resultExtended: Bool = false, taskEvents: Bool = false, mingle: Bool = true, keys: ConsumerKeys = ConsumerKeys()
    ) {
        self.queues = queues.isEmpty ? [TaskOptions.defaultQueue] : queues
        self.concurrency = max(1, concurrency)
        self.prefetch = max(1, prefetch ?? 4 * max(1, concurrency))
        self.maximumConcurrency = max(self.concurrency, maximumConcurrency ?? 256)
        self.hostname = hostname
        self.acksLate = acksLate
        self.visibilityTimeout = visibilityTimeout
        self.restoreInterval = restoreInterval
        self.unackedMutexExpiry = unackedMutexExpiry
        self.shutdownGrace = shutdownGrace
        self.scheduleThreshold = scheduleThreshold
        self.resultExtended = resultExtended
        self.taskEvents = taskEvents
        self.mingle = mingle
        self.keys = keys
    }

    /// `celeriac@<host>`.
    public static func defaultHostname() -> String {
        "celeriac@" + ProcessInfo.processInfo.hostName
    }

    /// Expands Celery's `%h` (host name), `%n` (its first label) and `%d` (the rest) in a node name,
    /// and prefixes `celeriac@` when there is no `@`.
    public static func nodeName(_ pattern: String, host: String = ProcessInfo.processInfo.hostName) -> String {
        let short = host.split(separator: ".").first.map(String.init) ?? host
        let domain = host.split(separator: ".").dropFirst().joined(separator: ".")
        let name = pattern.replacingOccurrences(of: "%h", with: host).replacingOccurrences(of: "%n", with: short)
            .replacingOccurrences(of: "%d", with: domain)
        return name.contains("@") ? name : "\(name)@\(host)"
    }
}
