import Celeriac
import Foundation
import RESP
import RedisTestSupport

/// `celeriac-bench enqueue`: publishing no-op tasks, Celeriac against Celery 5 (from the venv) on
/// one private redis-server, in the same run.
///
/// This machine's speed drifts by tens of percent from second to second, so the runs alternate in
/// short pairs (the peer, then Celeriac) and each ratio is the median of the pairs' ratios:
/// - Celeriac single sends: one awaited `CeleriacApp.send` per task, against Celery's
///   `apply_async` loop (with the default result backend subscription, and with
///   `ignore_result=True`), driven through Redis (`Benchmarks/python/celery_enqueue.py`).
/// - Celeriac `sendMany` (batches of 1,000 messages per pipeline) against raw pipelined `LPUSH` of
///   the same encoded bytes in the same batches: what the message layer costs on top of Redis.
struct EnqueueBenchmark {
    /// Tasks per single-send run (Celery's runs take about a second each).
    var tasks = 2_000
    /// Messages per `sendMany`/raw run.
    var batchedTasks = 20_000
    var pairs = 9
    var python: String
    /// Skips the Celery runs (profiling; no ratios).
    var celeriacOnly = false

    struct Row {
        let name: String
        let rate: Double
        /// The median of the pairs' ratios against the row's peer (`nil` for peers).
        let ratio: Double?
    }

    func run() async throws -> [Row] {
        try await withRedisServer { try await measure($0) }
    }

    private func measure(_ server: RedisServerProcess) async throws -> [Row] {
        let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        let redis = try await RedisConnection.connect(url: server.url(database: 0))
        try await app.send("celeriac.examples.noop")  // connect and declare the queue outside the timing

        let celery = celeriacOnly ? nil : try startCelery(server)
        defer { if let celery { Task { await RedisServerProcess.onOwnThread { celery.terminate(grace: 5) } } } }
        func celeryRate(_ kind: String) async throws -> Double {
            guard celery != nil else { return .nan }
            try await redis.send("RPUSH", "celeriac.bench.control", "\(kind) \(tasks)")
            let reply = try await redis.sendBlocking(RESPCommand("BLPOP", "celeriac.bench.reply", 120), timeout: .seconds(120))
            guard let text = reply.array?.last?.string, let rate = Double(text) else {
                throw BenchmarkError("the Celery side did not answer: see \(server.directory.path)/celery-enqueue.log")
            }
            try await redis.send("DEL", "celery")
            return rate
        }

        let messages = (0..<batchedTasks).map { _ in app.message("celeriac.examples.noop") }
        let batches = stride(from: 0, to: batchedTasks, by: 1_000).map {
            Array(messages[$0..<min(batchedTasks, $0 + 1_000)])
        }
        let rawBatches = batches.map { batch in batch.map { RESPCommand("LPUSH", "celery", $0.encoded()) } }

        var (celeryDefault, celeryIgnore, singles, many, raw) = ([Double](), [Double](), [Double](), [Double](), [Double]())
        for _ in 0..<pairs {
            celeryDefault.append(try await celeryRate("default"))
            celeryIgnore.append(try await celeryRate("ignore_result"))
            var start = ContinuousClock.now
            for _ in 0..<tasks { try await app.send("celeriac.examples.noop") }
            singles.append(Double(tasks) / (ContinuousClock.now - start).seconds)
            try await redis.send("DEL", "celery")

            start = ContinuousClock.now
            for batch in rawBatches { _ = try await redis.pipeline(batch) }
            raw.append(Double(batchedTasks) / (ContinuousClock.now - start).seconds)
            try await redis.send("DEL", "celery")
            start = ContinuousClock.now
            for batch in batches { try await app.sendMany(batch) }
            many.append(Double(batchedTasks) / (ContinuousClock.now - start).seconds)
            try await redis.send("DEL", "celery")
        }
        if celery != nil { try await redis.send("RPUSH", "celeriac.bench.control", "stop") }
        await app.close()
        func ratios(_ rates: [Double], _ peers: [Double]) -> Double? {
            peers.contains(where: \.isNaN) ? nil : median(zip(rates, peers).map { $0 / $1 })
        }
        return [
            Row(name: "Celery apply_async (result backend on)", rate: median(celeryDefault), ratio: nil),
            Row(name: "Celery apply_async(ignore_result=True)", rate: median(celeryIgnore), ratio: nil),
            Row(name: "Celeriac send, one await per task", rate: median(singles), ratio: ratios(singles, celeryDefault)),
            Row(name: "  against Celery's ignore_result variant", rate: median(singles), ratio: ratios(singles, celeryIgnore)),
            Row(name: "raw pipelined LPUSH of the same bytes", rate: median(raw), ratio: nil),
            Row(name: "Celeriac sendMany, 1,000 per pipeline", rate: median(many), ratio: ratios(many, raw)),
        ]
    }

    private func startCelery(_ server: RedisServerProcess) throws -> ChildProcess {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("python/celery_enqueue.py").path
        return try ChildProcess(
            python, [script, server.url(database: 0), server.url(database: 1)],
            outputPath: server.directory.appendingPathComponent("celery-enqueue.log").path)
    }
}
