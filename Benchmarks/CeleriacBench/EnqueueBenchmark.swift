import Celeriac
import Foundation
import RESP
import RedisTestSupport

/// `celeriac-bench enqueue`: publishing N no-op tasks, Celeriac against Celery 5 (from the venv)
/// on one private redis-server, in the same run.
///
/// - Celeriac single sends: one awaited `CeleriacApp.send` per task, vs Celery's `apply_async` loop
///   (with the default result backend subscription, and with `ignore_result=True`).
/// - Celeriac `sendMany` (batches of 1,000 messages per pipeline) vs raw pipelined `LPUSH` of the
///   same encoded bytes in the same batches: what the message layer costs on top of Redis.
struct EnqueueBenchmark {
    var tasks = 20_000
    var python: String

    struct Report {
        let singleSends: Double
        let celeryDefault: Double
        let celeryIgnoreResult: Double
        let sendMany: Double
        let rawPipelinedLPUSH: Double
    }

    func run() async throws -> Report {
        try await withRedisServer { try await measure($0) }
    }

    private func measure(_ server: RedisServerProcess) async throws -> Report {
        let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        let redis = try await RedisConnection.connect(url: server.url(database: 0))
        try await app.send("celeriac.examples.noop")  // connect and declare the queue outside the timing

        var start = ContinuousClock.now
        for _ in 0..<tasks { try await app.send("celeriac.examples.noop") }
        let singleSends = Double(tasks) / (ContinuousClock.now - start).seconds
        try await redis.send("DEL", "celery")

        let messages = (0..<tasks).map { _ in app.message("celeriac.examples.noop") }
        let batches = stride(from: 0, to: tasks, by: 1_000).map { Array(messages[$0..<min(tasks, $0 + 1_000)]) }
        start = ContinuousClock.now
        for batch in batches { try await app.sendMany(batch) }
        let sendMany = Double(tasks) / (ContinuousClock.now - start).seconds
        try await redis.send("DEL", "celery")

        let rawBatches = batches.map { batch in batch.map { RESPCommand("LPUSH", "celery", $0.encoded()) } }
        start = ContinuousClock.now
        for batch in rawBatches { _ = try await redis.pipeline(batch) }
        let raw = Double(tasks) / (ContinuousClock.now - start).seconds
        try await redis.send("DEL", "celery")
        await app.close()

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("python/celery_enqueue.py").path
        let output = try await CommandRunner.run(
            URL(fileURLWithPath: python), [script, server.url(database: 0), server.url(database: 1), String(tasks)])
        guard output.status == 0, let line = output.standardOutput.split(separator: "\n").last,
            let rates = try? JSONValue(parsing: String(line)),
            let celeryDefault = rates["default"]?.doubleValue, let celeryIgnore = rates["ignore_result"]?.doubleValue
        else {
            throw BenchmarkError("the Celery side failed: \(output.standardError.suffix(2000))")
        }
        return Report(
            singleSends: singleSends, celeryDefault: celeryDefault, celeryIgnoreResult: celeryIgnore,
            sendMany: sendMany, rawPipelinedLPUSH: raw)
    }
}
