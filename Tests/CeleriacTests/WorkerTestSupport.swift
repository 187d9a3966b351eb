import Celeriac
import CeleriacExamples
import Foundation
import RESP
import RedisTestSupport
import Synchronization
import Testing

/// Log lines a test's worker wrote, for assertions and for the failure report.
final class LogCollector: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: WorkerLogger {
        WorkerLogger(level: .debug) { line in self.lines.withLock { $0.append(line) } }
    }

    var all: [String] { lines.withLock { $0 } }

    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}

/// A worker running in this process on a private redis-server (broker db 0, backend db 1).
struct WorkerHarness {
    let server: RedisServerProcess
    let app: CeleriacApp
    let worker: Worker
    let redis: RedisConnection
    let logs: LogCollector

    /// Counts, per key, how often test tasks ran (tasks call `count`).
    static let counters = Counters()
}

final class Counters: Sendable {
    private let values = Mutex<[String: Int]>([:])
    func increment(_ key: String) { values.withLock { $0[key, default: 0] += 1 } }
    func value(_ key: String) -> Int { values.withLock { $0[key] ?? 0 } }
}

/// Runs `body` with a worker serving the example tasks plus `register`'s; shuts it down (warm)
/// and stops the server afterwards. On failure the worker's log is attached to the test.
func withWorker(
    _ configuration: WorkerConfiguration = WorkerConfiguration(concurrency: 4),
    serverArguments: [String] = [],
    register: (TaskRegistry) throws -> Void = { _ in },
    _ body: (WorkerHarness) async throws -> Void
) async throws {
    try await withRedisServer(extraArguments: serverArguments) { server in
        let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        let registry = TaskRegistry()
        try ExampleTasks.register(in: registry)
        try register(registry)
        let logs = LogCollector()
        let worker = Worker(app: app, registry: registry, configuration: configuration, logger: logs.logger)
        let running = Task { try await worker.run() }
        let redis = try await RedisConnection.connect(url: server.url(database: 0))
        let harness = WorkerHarness(server: server, app: app, worker: worker, redis: redis, logs: logs)
        do {
            try await body(harness)
        } catch {
            Issue.record(Comment(rawValue: "worker log:\n" + logs.all.suffix(60).joined(separator: "\n")))
            worker.shutdown()
            worker.shutdown()
            _ = try? await running.value
            await redis.close()
            await app.close()
            throw error
        }
        worker.shutdown()
        try await running.value
        await redis.close()
        await app.close()
    }
}

extension WorkerHarness {
    /// Makes every message held in `celeriac.scheduled` due now (tests use long countdowns, so
    /// that a slow machine cannot run them early, and then bring them forward).
    func makeScheduledMessagesDue() async throws {
        let tags = try await redis.send(RESPCommand("ZRANGE", "celeriac.scheduled", 0, -1)).array ?? []
        for tag in tags.compactMap(\.bytes) {
            _ = try await redis.send(RESPCommand("ZADD", "celeriac.scheduled", 0, tag))
        }
    }
}
