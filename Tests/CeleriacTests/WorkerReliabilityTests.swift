import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// The `celeriac-worker` executable under faults: SIGKILL mid-run, a Redis restart, signals.
@Suite struct WorkerReliabilityTests {
    static let workerPath = CommandRunner.productsDirectory.appendingPathComponent("celeriac-worker").path

    /// Starts `celeriac-worker` against `server` (broker db 0, backend db 1), logging to `log`.
    static func startWorker(_ server: RedisServerProcess, _ arguments: [String], log: String) throws -> ChildProcess {
        try ChildProcess(
            workerPath, arguments,
            environment: ["CELERIAC_BROKER_URL": server.url(database: 0), "CELERIAC_RESULT_BACKEND": server.url(database: 1)],
            outputPath: log)
    }

    /// How many task results are stored (db 1 holds nothing else), and how many are SUCCESS.
    static func storedResults(_ backend: RedisConnection, ids: [String]) async throws -> (stored: Int, succeeded: Int) {
        let stored = try await backend.send("DBSIZE").int ?? 0
        var succeeded = 0
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            let values = try await backend.send(RESPCommand("MGET", arguments: chunk.map { RedisResultBackend.key(for: $0) }))
            for value in values.array ?? [] {
                if let bytes = value.bytes, try TaskResultMeta(decoding: bytes).state == .success { succeeded += 1 }
            }
        }
        return (stored, succeeded)
    }

    @Test func aWorkerKilledMidRunLosesNoAcksLateTask() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let backend = try await RedisConnection.connect(url: server.url(database: 1))
            let broker = try await RedisConnection.connect(url: server.url(database: 0))
            let messages = (0..<2000).map { _ in app.message("celeriac.examples.sleep", args: [0.01]) }
            let ids = messages.map(\.id)
            try await app.sendMany(messages)
            let options = [
                "-c", "8", "--acks-late", "--visibility-timeout", "2", "--restore-interval", "0.5",
                "--unacked-mutex-expire", "3", "-l", "warning",
            ]

            let first = try Self.startWorker(server, options + ["-n", "first@%h"], log: server.directory.appendingPathComponent("first.log").path)
            #expect(try await eventually(attempts: 1500) { try await Self.storedResults(backend, ids: []).stored >= 300 })
            await RedisServerProcess.onOwnThread { first.terminate(signal: SIGKILL) }
            let afterKill = try await Self.storedResults(backend, ids: ids)
            #expect(afterKill.succeeded < 2000)
            // The killed worker held messages: they are in unacked, not lost.
            #expect(try await broker.hgetall("unacked").count > 0)
            // Worst case, every time: it died mid-sweep, holding the sweep's lock (for up to
            // --unacked-mutex-expire; kombu's 300 s default would outlast this test).
            _ = try await broker.send(RESPCommand("SET", "unacked_mutex", "killed-mid-sweep", "NX", "PX", 3000))

            let second = try Self.startWorker(server, options + ["-n", "second@%h"], log: server.directory.appendingPathComponent("second.log").path)
            // A task the killed worker finished but had not acked yet comes back too (at-least-once,
            // as with kombu), restored to the head of the list, so it runs again last: wait for the
            // queue and the unacked hash to be empty as well, not only for every result.
            let all = try await eventually(attempts: 3000) {
                let succeeded = try await Self.storedResults(backend, ids: ids).succeeded
                let queued = try await broker.llen("celery")
                let unacked = try await broker.hgetall("unacked").count
                return succeeded == 2000 && queued == 0 && unacked == 0
            }
            await RedisServerProcess.onOwnThread { second.terminate(signal: SIGTERM, grace: 10) }
            let final = try await Self.storedResults(backend, ids: ids)
            #expect(all)
            #expect(final.stored == 2000 && final.succeeded == 2000)
            #expect(try await broker.hgetall("unacked").isEmpty)
            #expect(try await broker.llen("celery") == 0)
            let log = (try? String(contentsOfFile: server.directory.appendingPathComponent("second.log").path, encoding: .utf8)) ?? ""
            #expect(log.contains("unacked.restored"))
            await backend.close()
            await broker.close()
            await app.close()
        }
    }

    @Test func aWorkerSurvivesARedisRestart() async throws {
        try await withRedisServer(extraArguments: ["--appendonly", "yes", "--appendfsync", "always"]) { server in
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let messages = (0..<300).map { _ in app.message("celeriac.examples.sleep", args: [0.01]) }
            let ids = messages.map(\.id)
            try await app.sendMany(messages)
            await app.close()
            let log = server.directory.appendingPathComponent("worker.log").path
            let worker = try Self.startWorker(server, ["-c", "2", "--acks-late", "-l", "info"], log: log)
            var backend = try await RedisConnection.connect(url: server.url(database: 1))
            #expect(try await eventually(attempts: 1500) { try await Self.storedResults(backend, ids: []).stored >= 50 })
            await backend.close()
            try await server.restart()
            backend = try await RedisConnection.connect(url: server.url(database: 1))
            let all = try await eventually(attempts: 3000) { try await Self.storedResults(backend, ids: ids).succeeded == 300 }
            await RedisServerProcess.onOwnThread { worker.terminate(signal: SIGTERM, grace: 10) }
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(all, "worker log:\n\(text.suffix(2000))")
            #expect(text.contains("redis.unreachable"))
            #expect(text.contains("worker.stopped"))
            await backend.close()
        }
    }

    @Test func theExecutableStartsStopsAndExplainsItself() async throws {
        let help = try await CommandRunner.run(URL(fileURLWithPath: Self.workerPath), ["--help"])
        #expect(help.status == 0)
        let documented = [
            "--queues", "--concurrency", "--hostname", "--prefetch", "--acks-late", "--loglevel", "--visibility-timeout",
            "--unacked-mutex-expire",
        ]
        for option in documented {
            #expect(help.standardOutput.contains(option))
        }
        let bad = try await CommandRunner.run(URL(fileURLWithPath: Self.workerPath), ["-c", "zero"])
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("--concurrency"))
        let unreachable = try await CommandRunner.run(
            URL(fileURLWithPath: Self.workerPath), ["--broker", "redis://127.0.0.1:1/0"], environment: ["CELERIAC_BROKER_URL": nil])
        #expect(unreachable.status == 1)
        #expect(unreachable.standardError.split(separator: "\n").count == 1)

        try await withRedisServer { server in
            let log = server.directory.appendingPathComponent("worker.log").path
            let worker = try Self.startWorker(server, ["-Q", "a,b", "-n", "named@%h", "-c", "3"], log: log)
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            #expect(try await app.send("celeriac.examples.add", args: [1, 2], options: TaskOptions(queue: "b")).get(timeout: .seconds(30)) == 3)
            await app.close()
            await RedisServerProcess.onOwnThread { worker.terminate(signal: SIGTERM, grace: 10) }
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(text.contains("worker.ready hostname=named@"))
            #expect(text.contains("queues=a,b concurrency=3"))
            #expect(text.contains("task.succeeded"))
            #expect(text.contains("worker.stopped"))
        }
    }
}

/// The README's own-worker example (Examples/ExampleWorker), built and run.
@Suite struct ExampleWorkerTests {
    @Test func theReadmeWorkerRunsItsTypedTask() async throws {
        try await withRedisServer { server in
            let log = server.directory.appendingPathComponent("example.log").path
            let worker = try ChildProcess(
                CommandRunner.productsDirectory.appendingPathComponent("ExampleWorker").path, ["-c", "2"],
                environment: ["CELERIAC_BROKER_URL": server.url(database: 0), "CELERIAC_RESULT_BACKEND": server.url(database: 1)],
                outputPath: log)
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            // Positionally, as from Python; it retries once, then succeeds.
            let resized = try await app.send("images.resize", args: ["cat.png", 64]).get(timeout: .seconds(30))
            #expect(resized.stringValue?.hasPrefix("cat.png@64w") == true)
            let invalid = try await app.send("images.resize", kwargs: ["path": "x", "width": 0])
            #expect(await #expect(throws: TaskFailure.self) { try await invalid.get(timeout: .seconds(30)) }?.type == "ValueError")
            let report = try await app.send("reports.build", args: [1], kwargs: ["k": "v"]).get(timeout: .seconds(30))
            #expect(report["args"] == [1] && report["kwargs"] == ["k": "v"])
            #expect(try await app.send("celeriac.examples.add", args: [1, 2]).get(timeout: .seconds(30)) == 3)
            await app.close()
            await RedisServerProcess.onOwnThread { worker.terminate(grace: 10) }
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(text.contains("task.retried"))
        }
    }
}
