import Celeriac
import Foundation
import RESP
import RedisTestSupport

/// `celeriac-bench worker`: the worker against Celery 5 workers (from the venv) on one private
/// redis-server, in the same run.
///
/// - Drain: N no-op tasks are queued first, then a worker starts; the rate counts from the first
///   result's `date_done` to the last (start-up excluded for both), results stored by every worker.
///   Celery runs with `-P solo`, `-P prefork -c <cores>` and `-P threads -c 8`.
/// - Round trip: sequential `send(noop).get()`, p50 to the maximum: Celeriac producer + worker,
///   Celery's `delay().get()` + Celeriac's worker (the path of a Python service in front of Swift
///   workers, where the latency tail of issue #31 showed), and Celery's `delay().get()` + a solo worker.
struct WorkerBenchmark {
    var tasks = 10_000
    var roundTrips = 2_000
    var concurrency = ProcessInfo.processInfo.activeProcessorCount
    var python: String
    /// Measure Celeriac alone (for profiling; no ratios).
    var celeriacOnly = false

    struct Drain {
        let name: String
        let rate: Double
        /// Redis' commands per task during the drain (``RedisCommandCount``).
        let commandsPerTask: Double
    }

    /// Sidekiq's configurations tried: (processes, threads each); its default is one process of 10.
    static let sidekiqConfigurations = [(1, 10), (2, 5), (2, 10), (2, 25)]

    struct Report {
        var drains: [Drain] = []
        var celeriacLatency = LatencySummary([])
        /// A Celery producer against Celeriac's worker.
        var pythonToCeleriacLatency = LatencySummary([])
        /// A Celery producer against Celeriac's worker with a publish lead of 1 ms (issue #31).
        var pythonToLeadingCeleriacLatency = LatencySummary([])
        var celeryLatency = LatencySummary([])
        /// Why there are no Sidekiq drains, when there are none.
        var sidekiqMissing: String?
    }

    private var script: String { BenchmarkWorkers.celeryScript }

    func run() async throws -> Report {
        try await withRedisServer { try await measure($0) }
    }

    private func measure(_ server: RedisServerProcess) async throws -> Report {
        var report = Report()
        let pythonWorkers: [(String, [String])] = [
            ("Celery -P solo", ["-P", "solo"]),
            ("Celery -P prefork -c \(concurrency)", ["-P", "prefork", "-c", String(concurrency)]),
            ("Celery -P threads -c 8", ["-P", "threads", "-c", "8"]),
        ]
        for (name, pool) in celeriacOnly ? [] : pythonWorkers {
            let (rate, commands) = try await drain(server) {
                let worker = try pythonWorker(server, pool)
                return { await RedisServerProcess.onOwnThread { worker.terminate(grace: 20) } }
            }
            report.drains.append(Drain(name: name, rate: rate, commandsPerTask: commands))
        }
        if !celeriacOnly {
            if let sidekiq = SidekiqDrain.find() {
                for (processes, threads) in Self.sidekiqConfigurations {
                    try await flush(server)
                    let (rate, commands) = try await sidekiq.drain(
                        server, tasks: tasks, processes: processes, concurrency: threads)
                    let name = "Sidekiq \(processes) process\(processes == 1 ? "" : "es") -c \(threads)"
                    report.drains.append(Drain(name: name, rate: rate, commandsPerTask: commands))
                }
            } else {
                report.sidekiqMissing = "Sidekiq or Ruby is not on the PATH (apt-get install ruby-sidekiq)"
            }
        }
        for slots in [concurrency, 8, 32] {
            let (rate, commands) = try await drain(server) {
                let (worker, running, app) = try celeriacWorker(server, concurrency: slots)
                return {
                    worker.shutdown()
                    _ = try? await running.value
                    await app.close()
                }
            }
            report.drains.append(Drain(name: "Celeriac -c \(slots)", rate: rate, commandsPerTask: commands))
        }

        // Round trips.
        try await flush(server)
        let (worker, running, workerApp) = try celeriacWorker(server, concurrency: concurrency)
        let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        for _ in 0..<200 { _ = try await app.send("celeriac.examples.noop").get(timeout: .seconds(30)) }
        var latencies: [Double] = []
        for _ in 0..<roundTrips {
            let start = ContinuousClock.now
            _ = try await app.send("celeriac.examples.noop").get(timeout: .seconds(30))
            latencies.append((ContinuousClock.now - start).seconds * 1000)
        }
        report.celeriacLatency = LatencySummary(latencies)
        await app.close()
        if !celeriacOnly { report.pythonToCeleriacLatency = try await pythonRoundTrips(server) }
        worker.shutdown()
        _ = try? await running.value
        await workerApp.close()
        if !celeriacOnly {
            try await flush(server)
            let leading = try BenchmarkWorkers.celeriac(server, concurrency: concurrency, publishLead: .milliseconds(1))
            report.pythonToLeadingCeleriacLatency = try await pythonRoundTrips(server)
            leading.worker.shutdown()
            _ = try? await leading.running.value
            await leading.app.close()
        }

        if celeriacOnly { return report }
        try await flush(server)
        let celery = try pythonWorker(server, ["-P", "solo"])
        defer { Task { await RedisServerProcess.onOwnThread { celery.terminate(grace: 20) } } }
        report.celeryLatency = try await pythonRoundTrips(server)
        return report
    }

    /// `roundTrips` sequential `delay().get()` calls of Celery's own client, against whichever worker runs.
    private func pythonRoundTrips(_ server: RedisServerProcess) async throws -> LatencySummary {
        let output = try await CommandRunner.run(
            URL(fileURLWithPath: python), [script, "roundtrip", String(roundTrips)], environment: environment(server))
        guard output.status == 0, let line = output.standardOutput.split(separator: "\n").last,
            let values = try? JSONValue(parsing: String(line)), let summary = LatencySummary(json: values)
        else { throw BenchmarkError("the Celery round trip failed: \(output.standardError.suffix(2000))") }
        return summary
    }

    private func environment(_ server: RedisServerProcess) -> [String: String?] {
        BenchmarkWorkers.environment(server)
    }

    private func pythonWorker(_ server: RedisServerProcess, _ pool: [String]) throws -> ChildProcess {
        try BenchmarkWorkers.celery(python: python, server, pool: pool, log: "celery.log")
    }

    private func celeriacWorker(_ server: RedisServerProcess, concurrency: Int) throws -> (Worker, Task<Void, any Error>, CeleriacApp) {
        try BenchmarkWorkers.celeriac(server, concurrency: concurrency)
    }

    private func flush(_ server: RedisServerProcess) async throws {
        let redis = try await RedisConnection.connect(url: server.url())
        try await redis.send("FLUSHALL")
        await redis.close()
    }

    /// Queues the tasks, starts a worker, waits until every result is stored, stops it, and
    /// returns the rate from the first to the last result's `date_done` (which both Celery and
    /// Celeriac workers write as they finish a task): start-up is excluded, and the benchmark's own
    /// polling (every 5 ms, to see the end) barely perturbs the workers it measures. Also returns
    /// Redis' commands per task from the worker's start to the last result (start-up included:
    /// a few dozen commands).
    private func drain(
        _ server: RedisServerProcess, startWorker: () async throws -> @Sendable () async -> Void
    ) async throws -> (rate: Double, commandsPerTask: Double) {
        try await flush(server)
        let producer = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        let messages = (0..<tasks).map { _ in producer.message("celeriac.examples.noop") }
        for start in stride(from: 0, to: tasks, by: 1_000) {
            try await producer.sendMany(Array(messages[start..<min(tasks, start + 1_000)]))
        }
        let backend = try await RedisConnection.connect(url: server.url(database: 1))
        let before = try await RedisCommandCount.read(server)
        let stop = try await startWorker()
        let deadline = ContinuousClock.now + .seconds(600)
        var stored = 0
        while ContinuousClock.now < deadline {
            stored = try await backend.send("DBSIZE").int ?? 0
            if stored >= tasks { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let after = try await RedisCommandCount.read(server)
        await stop()
        await backend.close()
        guard stored >= tasks else { throw BenchmarkError("the worker did not drain the queue") }
        var finished: [Date] = []
        for start in stride(from: 0, to: tasks, by: 1_000) {
            let ids = messages[start..<min(tasks, start + 1_000)].map(\.id)
            for meta in try await producer.backend.metas(for: ids) {
                guard let done = meta?.dateDone else { throw BenchmarkError("a result without date_done") }
                finished.append(done)
            }
        }
        await producer.close()
        guard let first = finished.min(), let last = finished.max(), last > first else {
            throw BenchmarkError("the results' date_done do not span any time")
        }
        let commands = after.calls(since: before, excluding: ["dbsize", "info"])
        return (Double(tasks - 1) / last.timeIntervalSince(first), Double(commands) / Double(tasks))
    }
}
