import Celeriac
import Foundation
import RESP
import RedisTestSupport

/// `celeriac-bench chord`: a chord of N trivial header tasks (`add(i, 0)`) and an `xsum` body,
/// from submitting it to holding the body's result: Celeriac's producer and worker against
/// Celery's producer and workers (solo and prefork), on one private redis-server, in the same run.
struct ChordBenchmark {
    var headerTasks = 1_000
    var rounds = 5
    var concurrency = ProcessInfo.processInfo.activeProcessorCount
    var python: String

    struct Row {
        let name: String
        /// Median seconds from submit to body result.
        let seconds: Double
    }

    private var script: String { BenchmarkWorkers.celeryScript }

    func run() async throws -> [Row] {
        try await withRedisServer { server in
            var rows: [Row] = []
            for (name, pool) in [
                ("Celery -P solo", ["-P", "solo"]),
                ("Celery -P prefork -c \(concurrency)", ["-P", "prefork", "-c", String(concurrency)]),
            ] {
                rows.append(Row(name: name, seconds: try await celery(server, pool: pool)))
            }
            rows.append(Row(name: "Celeriac -c \(concurrency)", seconds: try await celeriac(server)))
            return rows
        }
    }

    private func celeriac(_ server: RedisServerProcess) async throws -> Double {
        let (worker, running, workerApp) = try BenchmarkWorkers.celeriac(server, concurrency: concurrency)
        let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        let add = Signature(task: "celeriac.examples.add")
        let xsum = Signature(task: "celeriac.examples.xsum")
        _ = try await app.apply(Signature.chord([add.clone(adding: [0, 0])], body: xsum)).get(timeout: .seconds(60))
        var seconds: [Double] = []
        let expected = JSONValue.integer((0..<headerTasks).reduce(0, +))
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            let header = (0..<headerTasks).map { add.clone(adding: [.integer($0), 0]) }
            let total = try await app.apply(Signature.chord(header, body: xsum)).get(timeout: .seconds(600))
            seconds.append((ContinuousClock.now - start).seconds)
            guard total == expected else { throw BenchmarkError("the chord body returned \(total), not \(expected)") }
        }
        await app.close()
        worker.shutdown()
        _ = try? await running.value
        await workerApp.close()
        return median(seconds)
    }

    private func celery(_ server: RedisServerProcess, pool: [String]) async throws -> Double {
        let environment = BenchmarkWorkers.environment(server)
        let worker = try BenchmarkWorkers.celery(python: python, server, pool: pool, log: "celery-chord.log")
        defer { Task { await RedisServerProcess.onOwnThread { worker.terminate(grace: 20) } } }
        let output = try await CommandRunner.run(
            URL(fileURLWithPath: python), [script, "chord", String(headerTasks), String(rounds)], environment: environment)
        guard output.status == 0, let line = output.standardOutput.split(separator: "\n").last,
            let values = try? JSONValue(parsing: String(line)), let list = values["seconds"]?.arrayValue
        else { throw BenchmarkError("the Celery chord run failed: \(output.standardError.suffix(2000))") }
        await RedisServerProcess.onOwnThread { worker.terminate(grace: 20) }
        return median(list.compactMap(\.doubleValue))
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
    }
}
