import Celeriac
import CeleriacExamples
import Foundation
import RESP
import RedisTestSupport
import Testing

/// Celeriac's producer against a real Python Celery 5.7 worker (from the venv that scripts/test.sh
/// makes and names in CELERIAC_PYTHON), on a private redis-server: broker db 0, backend db 1.
@Suite(.enabled(if: interopPython != nil, "set CELERIAC_PYTHON (scripts/test.sh does)"))
struct PythonCeleryInteropTests {
    static let interopDirectory = PythonInterop.directory

    /// Runs `body` with a Python Celery worker serving queues `celery` and `interop.q`.
    private func withPythonWorker(
        _ body: (RedisServerProcess, CeleriacApp, URL) async throws -> Void
    ) async throws {
        try await withRedisServer { server in
            let log = server.directory.appendingPathComponent("celery-worker.log")
            let worker = try PythonInterop.worker(server, queues: "celery,interop.q", name: "py-interop@%h", log: log)
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            do {
                // The worker is up once it has run a task.
                _ = try await app.send("celeriac.examples.noop").get(timeout: .seconds(90))
                try await body(server, app, log)
            } catch {
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                Issue.record("Python worker output:\n\(output.suffix(3000))")
                await app.close()
                await RedisServerProcess.onOwnThread { worker.terminate(grace: 10) }
                throw error
            }
            await app.close()
            await RedisServerProcess.onOwnThread { worker.terminate(grace: 10) }
        }
    }

    @Test func celeriacStatusAndInspectReachAPythonWorker() async throws {
        try await withPythonWorker { server, _, _ in
            let celeriac = CommandRunner.productsDirectory.appendingPathComponent("celeriac")
            let environment: [String: String?] = [
                "CELERIAC_BROKER_URL": server.url(database: 0), "CELERIAC_RESULT_BACKEND": server.url(database: 1),
            ]
            let status = try await CommandRunner.run(celeriac, ["status", "--timeout", "5"], environment: environment)
            #expect(status.status == 0 && status.standardOutput.contains("->  py-interop@"), "\(status.standardOutput)\(status.standardError)")
            let stats = try await CommandRunner.run(celeriac, ["inspect", "stats", "--json", "--timeout", "5"], environment: environment)
            let replies = try #require(try JSONValue(parsing: stats.standardOutput).objectValue)
            #expect(replies.keys.contains { $0.hasPrefix("py-interop@") })
            #expect(replies.values.first?["pool"] != nil)
        }
    }

    @Test func pythonWorkerServesCeleriacProducer() async throws {
        try await withPythonWorker { server, app, _ in
            // Positional and keyword arguments, typed and untyped.
            #expect(try await app.send("celeriac.examples.add", args: [2, 3]).get(timeout: .seconds(30)) == 5)
            #expect(try await app.send(Add.self, .init(x: 4, y: 5)).get(timeout: .seconds(30)) == 9)
            #expect(try await app.send("celeriac.examples.xsum", args: [[1, 2, 3.5]]).get(timeout: .seconds(30)) == 6.5)

            // Priority 9 travels through the `celery\x06\x169` list; a custom queue through its own.
            #expect(try await app.send("celeriac.examples.mul", args: [6, 7], options: TaskOptions(priority: 9))
                .get(timeout: .seconds(30)) == 42)
            #expect(try await app.send("celeriac.examples.mul", args: [3, 3], options: TaskOptions(queue: "interop.q"))
                .get(timeout: .seconds(30)) == 9)

            // Countdown: not run before its ETA.
            let sentAt = Date()
            let delayed = try await app.send("celeriac.examples.noop", options: TaskOptions(countdown: .seconds(2)))
            _ = try await delayed.get(timeout: .seconds(30))
            let finished = try #require(try await app.backend.meta(for: delayed.id)?.dateDone)
            #expect(finished.timeIntervalSince(sentAt) >= 1.9)

            // Expired before it could run: REVOKED, as a typed error.
            let expired = try await app.send(
                "celeriac.examples.add", args: [1, 2], options: TaskOptions(expires: .at(Date().addingTimeInterval(-5))))
            let revoked = await #expect(throws: TaskFailure.self) { try await expired.get(timeout: .seconds(30)) }
            #expect(revoked?.type == "TaskRevokedError")
            #expect(try await expired.state() == .revoked)

            // A Python exception arrives as a typed Swift error with its traceback.
            let failing = try await app.send("celeriac.examples.fail", args: ["boom from python"])
            let failure = await #expect(throws: TaskFailure.self) { try await failing.get(timeout: .seconds(30)) }
            #expect(failure?.type == "ValueError")
            #expect(failure?.module == "builtins")
            #expect(failure?.message == "boom from python")
            #expect(failure?.traceback?.contains("ValueError: boom from python") == true)

            // PROGRESS with its meta is visible while the task runs.
            let progress = try await app.send("celeriac.examples.progress", args: [5])
            var sawProgress = false
            // Until it is done (a loaded machine may start the Python worker's task late), 30 s at most.
            let deadline = ContinuousClock.now + .seconds(30)
            while !sawProgress, ContinuousClock.now < deadline {
                let state = try await progress.state()
                if state == "SUCCESS" { break }
                if state == "PROGRESS" {
                    let info = try await progress.info()
                    #expect(info["total"] == 5)
                    #expect(info["current"]?.intValue.map { (0..<5).contains($0) } == true)
                    sawProgress = true
                } else {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(sawProgress)
            #expect(try await progress.get(timeout: .seconds(30)) == 5)
            _ = server
        }
    }

    @Test func celeriacCallWaitsForThePythonWorker() async throws {
        try await withPythonWorker { server, _, _ in
            let celeriac = CommandRunner.productsDirectory.appendingPathComponent("celeriac")
            let environment: [String: String?] = [
                "CELERIAC_BROKER_URL": server.url(database: 0), "CELERIAC_RESULT_BACKEND": server.url(database: 1),
            ]
            let call = try await CommandRunner.run(
                celeriac, ["call", "celeriac.examples.add", "--args", "[20, 22]", "--wait", "--timeout", "30"],
                environment: environment)
            #expect(call.status == 0, "\(call.standardError)")
            let lines = call.standardOutput.split(separator: "\n")
            #expect(lines.count == 2)
            #expect(lines.last == "42")
            let id = String(try #require(lines.first))

            let result = try await CommandRunner.run(celeriac, ["result", id], environment: environment)
            #expect(result.standardOutput == "state: SUCCESS\nresult: 42\n")
            let json = try await CommandRunner.run(celeriac, ["result", id, "--json"], environment: environment)
            let stored = try TaskResultMeta(decoding: Array(json.standardOutput.utf8.dropLast()))
            #expect(stored.state == .success)
            #expect(stored.taskID == id)

            let failing = try await CommandRunner.run(
                celeriac, ["call", "celeriac.examples.fail", "--args", #"["cli boom"]"#, "--wait", "--timeout", "30"],
                environment: environment)
            #expect(failing.status == 1)
            #expect(failing.standardError.contains("failed: ValueError('cli boom')"))

            let kwargs = try await CommandRunner.run(
                celeriac, ["call", "celeriac.examples.mul", "--kwargs", #"{"x": 7, "y": 6}"#, "-Q", "interop.q",
                           "--priority", "3", "--wait", "--timeout", "30"],
                environment: environment)
            #expect(kwargs.standardOutput.hasSuffix("\n42\n"), "\(kwargs.standardError)")
        }
    }
}

/// Python Celery producers and workers with a Celeriac worker.
@Suite(.enabled(if: interopPython != nil, "set CELERIAC_PYTHON (scripts/test.sh does)"))
struct PythonProducerInteropTests {
    static let interopDirectory = PythonCeleryInteropTests.interopDirectory

    private func pythonEnvironment(_ server: RedisServerProcess) -> [String: String?] {
        PythonInterop.environment(server)
    }

    @Test func pythonSendTaskIsServedByACeleriacWorker() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 4)) { harness in
            let run = try await CommandRunner.run(
                URL(fileURLWithPath: try #require(interopPython)),
                [Self.interopDirectory.appendingPathComponent("python_producer.py").path],
                environment: pythonEnvironment(harness.server))
            #expect(run.status == 0, "\(run.standardOutput)\n\(run.standardError.suffix(3000))")
            #expect(run.standardOutput.hasSuffix("done\n"))
            #expect(harness.logs.contains("name=celeriac.examples.progress"))
        }
    }

    @Test func pythonAndCeleriacWorkersShareAQueue() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2, hostname: "swift@interop", resultExtended: true)) { harness in
            let server = harness.server
            let log = server.directory.appendingPathComponent("celery-worker.log")
            let python = try PythonInterop.worker(server, queues: "celery", name: "python@interop", log: log)
            defer { Task { await RedisServerProcess.onOwnThread { python.terminate(grace: 10) } } }
            let app = harness.app
            // Wait until the Python worker consumes too, then send a batch both serve.
            var servedBy: [String: Int] = [:]
            for _ in 0..<20 where servedBy.count < 2 {
                let results = try await app.sendMany((0..<50).map { _ in app.message("celeriac.examples.sleep", args: [0.02]) })
                for result in results {
                    _ = try await result.get(timeout: .seconds(60))
                    let worker = try await app.backend.meta(for: result.id)?.fields["worker"]?.stringValue ?? "?"
                    servedBy[worker, default: 0] += 1
                }
            }
            #expect(servedBy.keys.sorted() == ["python@interop", "swift@interop"], "\(servedBy)")
            // Early acks are sent on their own, so the last may reach Redis after its result.
            #expect(try await eventually { try await harness.redis.hgetall("unacked").isEmpty })
        }
    }

    /// Python workers keep revokes in memory only: a Celeriac worker starting later learns them by
    /// Celery's mingle (`hello`) and refuses the task.
    @Test func mingleLearnsRevokesFromAPythonWorker() async throws {
        try await withRedisServer { server in
            let log = server.directory.appendingPathComponent("celery-worker.log")
            let python = try PythonInterop.worker(server, queues: "python.only", name: "python@mingle", log: log)
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let control = ControlClient(app: app)
            #expect(try await eventually(attempts: 300) { !(try await control.broadcast("ping", timeout: .milliseconds(300))).isEmpty })
            // Revoked on the Python worker only: a bare broadcast, nothing written to Redis.
            let id = UUID().uuidString.lowercased()
            let reply = try await control.broadcast("revoke", arguments: ["task_id": .string(id)], timeout: .seconds(5), limit: 1)
            #expect(reply["python@mingle"]?["ok"]?.stringValue?.contains(id) == true, "\(reply)")

            let registry = TaskRegistry()
            try ExampleTasks.register(in: registry)
            let logs = LogCollector()
            let worker = Worker(
                app: app, registry: registry, configuration: WorkerConfiguration(concurrency: 1, hostname: "swift@mingle"),
                logger: logs.logger)
            let running = Task { try await worker.run() }
            #expect(await eventually(attempts: 500) { logs.contains("worker.mingled nodes=1 revoked=1") }, "\(logs.all)")
            let result = try await app.send("celeriac.examples.add", args: [1, 1], options: TaskOptions(taskID: id))
            let failure = await #expect(throws: TaskFailure.self) { try await result.get(timeout: .seconds(30)) }
            #expect(failure?.type == "TaskRevokedError")
            worker.shutdown()
            try await running.value
            await app.close()
            await RedisServerProcess.onOwnThread { python.terminate(grace: 10) }
        }
    }

    @Test func beatTasksReachAPythonWorker() async throws {
        try await withRedisServer { server in
            let log = server.directory.appendingPathComponent("celery-worker.log")
            let python = try PythonInterop.worker(server, queues: "beat.py", name: "python@beat", log: log)
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let schedule = try BeatSchedule(entries: [
                BeatEntry(name: "py", task: "celeriac.examples.mul", args: [6, 7], options: TaskOptions(queue: "beat.py"),
                          timing: .every(.milliseconds(500)))
            ])
            let beat = Beat(app: app, schedule: schedule, configuration: BeatConfiguration(lease: .seconds(1)), logger: WorkerLogger(level: .warning))
            let running = Task { try await beat.run() }
            let backend = try await RedisConnection.connect(url: server.url(database: 1))
            let served = try await eventually(attempts: 3000) {
                let keys = try await backend.send("KEYS", "celery-task-meta-*").array ?? []
                return keys.count >= 2
            }
            beat.shutdown()
            try await running.value
            #expect(served, "\((try? String(contentsOf: log, encoding: .utf8))?.suffix(2000) ?? "")")
            for key in (try await backend.send("KEYS", "celery-task-meta-*").array ?? []).prefix(2) {
                let name = try #require(key.bytes)
                let value = try #require(try await backend.get(name))
                let stored = try TaskResultMeta(decoding: value)
                #expect(stored.state == .success && stored.result == 42 && stored.fields["worker"] == "python@beat")
            }
            await backend.close()
            await app.close()
            await RedisServerProcess.onOwnThread { python.terminate(grace: 10) }
        }
    }

    @Test func pythonControlRevokeAndInspectPingReachACeleriacWorker() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2, hostname: "swift@control")) { harness in
            let python = URL(fileURLWithPath: try #require(interopPython))
            // Broadcasts reach only subscribed workers: wait until this one listens (slow under load).
            #expect(try await eventually(attempts: 1000) {
                let reply = try await harness.redis.send("PUBSUB", "NUMSUB", "/0.celery.pidbox")
                return (reply.array?.last?.int ?? 0) >= 1
            })
            let ping = try await CommandRunner.run(
                python, ["-m", "celery", "-A", "celeriac_interop", "inspect", "ping", "-d", "swift@control", "--timeout", "10"],
                environment: pythonEnvironment(harness.server))
            #expect(ping.standardOutput.contains("swift@control"), "\(ping.standardOutput)\n\(ping.standardError.suffix(2000))")
            #expect(ping.standardOutput.contains("pong"))

            let delayed = try await harness.app.send("celeriac.examples.add", args: [1, 2], options: TaskOptions(countdown: .seconds(60)))
            #expect(try await eventually { try await harness.redis.zcard("celeriac.scheduled") == 1 })
            let revoke = try await CommandRunner.run(
                python, ["-m", "celery", "-A", "celeriac_interop", "control", "revoke", delayed.id, "-d", "swift@control", "--timeout", "10"],
                environment: pythonEnvironment(harness.server))
            #expect(revoke.standardOutput.contains("flagged as revoked"), "\(revoke.standardOutput)\n\(revoke.standardError.suffix(2000))")
            let failure = await #expect(throws: TaskFailure.self) { try await delayed.get(timeout: .seconds(15)) }
            #expect(failure?.type == "TaskRevokedError")
            // Kept in Redis for workers that start later, although Python's CLI wrote nothing there.
            #expect(try await harness.redis.zscore("celeriac.revoked", delayed.id) != nil)
            try await harness.makeScheduledMessagesDue()
            #expect(await eventually(attempts: 500) { harness.logs.contains("task.revoked id=\(delayed.id)") })
        }
    }

    /// Runs `celery -A celeriac_interop inspect|control <arguments> --json` and returns the parsed
    /// replies by node name.
    private func celery(_ server: RedisServerProcess, _ arguments: [String]) async throws -> JSONObject {
        let run = try await CommandRunner.run(
            URL(fileURLWithPath: try #require(interopPython)),
            ["-m", "celery", "-A", "celeriac_interop"] + arguments
                + ["--json", "--timeout", "10", "-d", "one@inspect,two@inspect"],
            environment: pythonEnvironment(server))
        let line = run.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        // `inspect` prints one object; `control` a list of one-entry objects.
        switch try? JSONValue(parsing: line) {
        case .object(let replies)?:
            return replies
        case .array(let list)?:
            var replies = JSONObject()
            for case .object(let entry) in list { for (node, reply) in entry { replies[node] = reply } }
            return replies
        default:
            Issue.record("celery \(arguments): \(run.standardOutput)\n\(run.standardError.suffix(1500))")
            return [:]
        }
    }

    @Test func pythonInspectSeesTwoCeleriacWorkers() async throws {
        try await withWorker(WorkerConfiguration(queues: ["celery", "extra"], concurrency: 1, prefetch: 2, hostname: "one@inspect")) { harness in
            let registry = TaskRegistry()
            try ExampleTasks.register(in: registry)
            let second = Worker(
                app: harness.app, registry: registry,
                configuration: WorkerConfiguration(concurrency: 1, prefetch: 2, hostname: "two@inspect"),
                logger: WorkerLogger(level: .warning))
            let running = Task { try await second.run() }
            // Two long tasks (one on each worker) and two waiting behind them.
            // Long enough to outlast the CLI calls below on a loaded machine; terminated at the end.
            let long = try await harness.app.sendMany((0..<4).map { _ in harness.app.message("celeriac.examples.sleep", args: [300]) })
            #expect(await eventually { harness.worker.activeTaskIDs.count == 1 && second.activeTaskIDs.count == 1 })

            let ping = try await celery(harness.server, ["inspect", "ping"])
            #expect(ping["one@inspect"] == ["ok": "pong"] && ping["two@inspect"] == ["ok": "pong"])
            let active = try await celery(harness.server, ["inspect", "active"])
            let activeIDs = Set(["one@inspect", "two@inspect"].compactMap { active[$0]?.arrayValue?.first?["id"]?.stringValue })
            #expect(activeIDs.count == 2 && activeIDs.isSubset(of: Set(long.map(\.id))))
            #expect(active["one@inspect"]?.arrayValue?.first?["acknowledged"] == true)
            #expect(active["one@inspect"]?.arrayValue?.first?["delivery_info"]?["routing_key"] == "celery")
            let reserved = try await celery(harness.server, ["inspect", "reserved"])
            let reservedCount = (reserved["one@inspect"]?.arrayValue?.count ?? 0) + (reserved["two@inspect"]?.arrayValue?.count ?? 0)
            #expect(reservedCount == 2)
            let registered = try await celery(harness.server, ["inspect", "registered"])
            #expect(registered["two@inspect"]?.arrayValue?.contains("celeriac.examples.add") == true)
            let stats = try await celery(harness.server, ["inspect", "stats"])
            #expect(stats["one@inspect"]?["pool"]?["max-concurrency"] == 1)
            #expect(stats["one@inspect"]?["prefetch_count"] == 2)
            #expect(stats["two@inspect"]?["clock"]?.stringValue != nil)
            let queues = try await celery(harness.server, ["inspect", "active_queues"])
            #expect(queues["one@inspect"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["celery", "extra"])
            let query = try await celery(harness.server, ["inspect", "query_task", long[0].id])
            let states = ["one@inspect", "two@inspect"].compactMap { query[$0]?[long[0].id]?.arrayValue?.first?.stringValue }
            #expect(states.count == 1 && ["active", "reserved"].contains(states.first ?? ""), "\(query)")
            let conf = try await celery(harness.server, ["inspect", "conf"])
            #expect(conf["one@inspect"]?["worker_concurrency"] == 1)

            try await harness.app.revoke([long[3].id])
            let revoked = try await celery(harness.server, ["inspect", "revoked"])
            #expect(revoked["one@inspect"]?.arrayValue?.contains(.string(long[3].id)) == true)
            let limit = try await celery(harness.server, ["control", "rate_limit", "celeriac.examples.add", "5/s"])
            #expect(limit["one@inspect"] == ["ok": "new rate limit set successfully"])
            #expect(harness.worker.registry["celeriac.examples.add"]?.settings.rateLimit == RateLimit(count: 5, per: .seconds(1)))
            let added = try await celery(harness.server, ["control", "add_consumer", "late.q"])
            #expect(added["one@inspect"] == ["ok": "add consumer late.q"])
            #expect(harness.worker.consumedQueues == ["celery", "extra", "late.q"])
            let cancelled = try await celery(harness.server, ["control", "cancel_consumer", "late.q"])
            #expect(cancelled["two@inspect"] == ["ok": "no longer consuming from late.q"])
            #expect(second.consumedQueues == ["celery"])
            let grow = try await celery(harness.server, ["control", "pool_grow", "1"])
            #expect(grow["one@inspect"] == ["ok": "pool will grow"])
            #expect(harness.worker.currentConcurrency == 2 && second.currentConcurrency == 2)
            let shrink = try await celery(harness.server, ["control", "pool_shrink", "1"])
            #expect(shrink["two@inspect"] == ["ok": "pool will shrink"])
            #expect(second.currentConcurrency == 1)
            let unknown = try await celery(harness.server, ["control", "pool_restart"])
            #expect(unknown["two@inspect"]?["error"]?.stringValue?.hasPrefix("KeyError") == true)

            try await harness.app.revoke(long.map(\.id), terminate: true)
            second.shutdown()
            try await running.value
        }
    }
}
