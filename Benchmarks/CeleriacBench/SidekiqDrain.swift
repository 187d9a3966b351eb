import Foundation
import RESP
import RedisTestSupport

/// The drain's peer from outside Python: Sidekiq (Debian's `ruby-sidekiq`, 6.4) running a no-op
/// job (`Benchmarks/ruby/sidekiq_noop.rb`), on the benchmark's private redis-server. Sidekiq
/// stores no results and acks nothing (one BRPOP per job), so it does less per task than a
/// Celery-protocol worker storing results.
///
/// The jobs are queued on a side list, the Sidekiq processes started and left to register, then
/// the list is renamed to `queue:default` (waking their BRPOPs): the rate runs from the rename to
/// the queue being empty, start-up excluded as in the other drains.
struct SidekiqDrain {
    /// `sidekiq_noop.rb`.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ruby/sidekiq_noop.rb").path

    let sidekiq: String
    let ruby: String

    /// Sidekiq and Ruby on the PATH, or `nil` when either is missing.
    static func find() -> SidekiqDrain? {
        guard let sidekiq = executable("sidekiq"), let ruby = executable("ruby") else { return nil }
        return SidekiqDrain(sidekiq: sidekiq, ruby: ruby)
    }

    private static func executable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Drains `tasks` no-op jobs with `processes` Sidekiq processes of `concurrency` threads each.
    /// Returns the rate and Redis' commands per job.
    func drain(
        _ server: RedisServerProcess, tasks: Int, processes: Int, concurrency: Int
    ) async throws -> (rate: Double, commandsPerTask: Double) {
        let environment: [String: String?] = ["REDIS_URL": server.url(database: 0)]
        let enqueue = try await CommandRunner.run(
            URL(fileURLWithPath: ruby), [Self.script, "enqueue", String(tasks)], environment: environment)
        guard enqueue.status == 0 else { throw BenchmarkError("queueing Sidekiq jobs failed: \(enqueue.standardError.suffix(2000))") }
        let workers = try (0..<processes).map { index in
            try ChildProcess(
                sidekiq, ["-r", Self.script, "-c", String(concurrency)], environment: environment,
                outputPath: server.directory.appendingPathComponent("sidekiq-\(index).log").path)
        }
        let redis = try await RedisConnection.connect(url: server.url(database: 0))
        defer { Task { await redis.close() } }
        do {
            let result = try await measure(redis, server, tasks: tasks, processes: processes)
            await RedisServerProcess.onOwnThread { for worker in workers { worker.terminate(grace: 30) } }
            return result
        } catch {
            await RedisServerProcess.onOwnThread { for worker in workers { worker.terminate(grace: 30) } }
            throw error
        }
    }

    private func measure(
        _ redis: RedisConnection, _ server: RedisServerProcess, tasks: Int, processes: Int
    ) async throws -> (rate: Double, commandsPerTask: Double) {
        let registered = ContinuousClock.now + .seconds(60)
        while try await redis.send("SCARD", "processes").int ?? 0 < processes {
            guard ContinuousClock.now < registered else { throw BenchmarkError("the Sidekiq processes did not start") }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .seconds(1))  // each process's fetcher threads are blocked in BRPOP
        let before = try await RedisCommandCount.read(server)
        _ = try await redis.send("RENAME", "queue:staging", "queue:default")
        let start = ContinuousClock.now
        let deadline = start + .seconds(600)
        while try await redis.send("LLEN", "queue:default").int ?? 0 > 0 {
            guard ContinuousClock.now < deadline else { throw BenchmarkError("Sidekiq did not drain the queue") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let after = try await RedisCommandCount.read(server)
        let commands = after.calls(since: before, excluding: ["llen", "info", "rename"])
        return (Double(tasks) / elapsed, Double(commands) / Double(tasks))
    }
}
