import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// Beat against a private redis-server: exactly-once runs across replicas, missed runs,
/// restarts, leader failover (processes, SIGKILL), and the tasks reaching a worker.
@Suite struct BeatIntegrationTests {
    static func schedule(every period: String, queue: String = "beat.q", task: String = "celeriac.examples.noop",
                         args: [JSONValue] = [], missed: MissedRunPolicy = .runOnce, name: String = "tick") throws -> BeatSchedule {
        try BeatSchedule(entries: [
            BeatEntry(
                name: name, task: task, args: args, options: TaskOptions(queue: queue),
                timing: .every(try BeatTiming.parsePeriod(period)), missed: missed)
        ])
    }

    /// The run times (from the `celeriac_beat_run` header) of the messages in `queue`, oldest first.
    static func runTimes(_ redis: RedisConnection, queue: String = "beat.q") async throws -> [Date] {
        try await redis.lrange(queue).reversed().map { raw in
            let message = try TaskMessage(decoding: raw)
            #expect(message.headers["celery_beat_task"] == true)
            let run = try #require(message.headers["celeriac_beat_run"]?.stringValue)
            return try CeleryTimestamp.parse(run)
        }
    }

    /// Whether `runs` are exactly the consecutive grid points `period` apart (none missing or doubled).
    static func consecutive(_ runs: [Date], period: Double) -> Bool {
        zip(runs, runs.dropFirst()).allSatisfy { abs($1.timeIntervalSince($0) - period) < 0.001 }
    }

    @Test func twoReplicasSendEachRunOnce() async throws {
        try await withRedisServer { server in
            let schedule = try Self.schedule(every: "500ms")
            var apps: [CeleriacApp] = []
            var beats: [Beat] = []
            for index in 0..<2 {
                let app = try CeleriacApp(brokerURL: server.url())
                apps.append(app)
                beats.append(Beat(
                    app: app, schedule: schedule,
                    configuration: BeatConfiguration(nodeName: "beat\(index)@test", lease: .seconds(1)),
                    logger: WorkerLogger(level: .warning)))
            }
            let running = beats.map { beat in Task { try await beat.run() } }
            var leadersSeen = Set<Int>()
            for _ in 0..<30 {
                try await Task.sleep(for: .milliseconds(100))
                let leaders = beats.indices.filter { beats[$0].isLeader }
                #expect(leaders.count <= 1)
                leadersSeen.formUnion(leaders)
            }
            // One stopped by shutdown(), the other by cancelling its task: both return, and
            // whichever leads gives the lease back.
            beats[0].shutdown()
            running[1].cancel()
            for task in running { try await task.value }
            let redis = try await RedisConnection.connect(url: server.url())
            #expect(try await redis.send("EXISTS", beats[0].configuration.leaderKey).int == 0)
            let runs = try await Self.runTimes(redis)
            #expect(runs.count >= 4)
            #expect(Set(runs).count == runs.count)
            #expect(Self.consecutive(runs, period: 0.5), "\(runs)")
            // Normally one replica leads throughout; on a loaded machine a late renewal can hand
            // the lease over, which is allowed: never two at once, and no run twice.
            #expect(!leadersSeen.isEmpty)
            #expect(beats.map(\.sentCount).reduce(0, +) == runs.count)
            #expect(try await redis.smembers("_kombu.binding.beat.q").count == 1)
            for app in apps { await app.close() }
        }
    }

    @Test func aRestartNeitherRepeatsNorForgetsRuns() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            let redis = try await RedisConnection.connect(url: server.url())
            let schedule = try Self.schedule(every: "500ms")
            var before = 0
            for _ in 0..<2 {
                let beat = Beat(app: app, schedule: schedule, configuration: BeatConfiguration(lease: .seconds(1)), logger: WorkerLogger(level: .warning))
                let running = Task { try await beat.run() }
                let target = before + 3
                #expect(try await eventually(attempts: 1000) { try await redis.llen("beat.q") >= target })
                beat.shutdown()
                try await running.value
                before = try await redis.llen("beat.q")
                // Down for a while: the runs due meanwhile are caught up after the restart.
                try await Task.sleep(for: .milliseconds(1200))
            }
            let runs = try await Self.runTimes(redis)
            #expect(Set(runs).count == runs.count)
            #expect(Self.consecutive(runs, period: 0.5), "\(runs)")
            #expect(runs.count >= 6)
            await redis.close()
            await app.close()
        }
    }

    @Test func missedRunsAreSentOnceOrSkippedPerEntry() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            let redis = try await RedisConnection.connect(url: server.url())
            let schedule = try BeatSchedule(entries: [
                BeatEntry(name: "once", task: "t", options: TaskOptions(queue: "once.q"), timing: .every(.seconds(60)), missed: .runOnce),
                BeatEntry(name: "skip", task: "t", options: TaskOptions(queue: "skip.q"), timing: .every(.seconds(60)), missed: .skip),
            ])
            // The checks below hold within one minute: a beat still running when the next minute
            // starts would send both entries' regular run too. Start 10 s or more before it.
            let intoMinute = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
            if intoMinute > 50 { try await Task.sleep(for: .seconds(61 - intoMinute)) }
            // Both last ran an hour ago: sixty runs were missed while no beat ran.
            let hourAgo = Int64((Date().timeIntervalSince1970 - 3600) / 60) * 60_000
            try await redis.hset("celeriac.beat.last-run", fields: [("once", hourAgo), ("skip", hourAgo)])
            let beat = Beat(app: app, schedule: schedule, configuration: BeatConfiguration(lease: .seconds(1)), logger: WorkerLogger(level: .warning))
            let running = Task { try await beat.run() }
            #expect(try await eventually(attempts: 1000) { try await redis.llen("once.q") >= 1 })
            #expect(try await eventually(attempts: 1000) {
                let recorded = try await redis.hgetall("celeriac.beat.last-run")
                return recorded["skip"].map { String(decoding: $0, as: UTF8.self) } != String(hourAgo)
            })
            try await Task.sleep(for: .milliseconds(300))
            beat.shutdown()
            try await running.value
            // One run for "once", none for "skip": both at the latest minute that had passed.
            let recorded = try await redis.hgetall("celeriac.beat.last-run")
            let skipped = try #require(recorded["skip"].flatMap { Double(String(decoding: $0, as: UTF8.self)) })
            let latest = Date(timeIntervalSince1970: skipped / 1000)
            #expect(try await Self.runTimes(redis, queue: "once.q") == [latest])
            #expect(try await redis.llen("skip.q") == 0)
            #expect(skipped.truncatingRemainder(dividingBy: 60_000) == 0)
            #expect(Date().timeIntervalSince(latest) < 120)
            await redis.close()
            await app.close()
        }
    }

    @Test func threeReplicasSurviveTheLeaderBeingKilled() async throws {
        try await withRedisServer { server in
            let scheduleFile = server.directory.appendingPathComponent("beat.json")
            try Data(#"{"entries": [{"name": "tick", "task": "celeriac.examples.noop", "options": {"queue": "beat.q"}, "every": "1s"}]}"#.utf8)
                .write(to: scheduleFile)
            let executable = CommandRunner.productsDirectory.appendingPathComponent("celeriac-beat").path
            var replicas: [String: ChildProcess] = [:]
            for index in 0..<3 {
                let name = "replica\(index)@test"
                replicas[name] = try ChildProcess(
                    executable, ["--schedule", scheduleFile.path, "-n", name, "--lease", "2", "-l", "warning"],
                    environment: ["CELERIAC_BROKER_URL": server.url()],
                    outputPath: server.directory.appendingPathComponent("replica\(index).log").path)
            }
            let redis = try await RedisConnection.connect(url: server.url())
            try await Task.sleep(for: .seconds(20))
            let leader = try #require(try await redis.getString("celeriac.beat.leader"))
            let killedAt = Date()
            let killed = try #require(replicas[leader])
            await RedisServerProcess.onOwnThread { killed.terminate(signal: SIGKILL) }
            try await Task.sleep(for: .seconds(10))
            let newLeader = try await redis.getString("celeriac.beat.leader")
            for (name, replica) in replicas where name != leader {
                await RedisServerProcess.onOwnThread { replica.terminate(grace: 10) }
            }
            let runs = try await Self.runTimes(redis)
            #expect(newLeader != nil && newLeader != leader)
            #expect(Set(runs).count == runs.count, "a run was sent twice")
            // None missing: the new leader catches up the runs due while the lease ran out.
            #expect(Self.consecutive(runs, period: 1), "\(runs)")
            #expect(runs.count >= 27)
            #expect(runs.contains { $0 > killedAt.addingTimeInterval(3) })
            await redis.close()
        }
    }

    @Test func beatTasksReachACeleriacWorker() async throws {
        try await withWorker { harness in
            let schedule = try Self.schedule(every: "500ms", queue: "celery", task: "celeriac.examples.add", args: [20, 22])
            let beat = Beat(app: harness.app, schedule: schedule, configuration: BeatConfiguration(lease: .seconds(1)), logger: WorkerLogger(level: .warning))
            let running = Task { try await beat.run() }
            #expect(await eventually { harness.logs.all.filter { $0.contains("task.succeeded") && $0.contains("celeriac.examples.add") }.count >= 2 })
            beat.shutdown()
            try await running.value
            let backend = try await RedisConnection.connect(url: harness.server.url(database: 1))
            // Results are written in batches: wait for them rather than for the log lines.
            #expect(try await eventually { (try await backend.send("KEYS", "celery-task-meta-*").array ?? []).count >= 2 })
            let keys = try await backend.send("KEYS", "celery-task-meta-*").array ?? []
            #expect(keys.count >= 2)
            for key in keys.prefix(2) {
                let name = try #require(key.bytes)
                let value = try #require(try await backend.get(name))
                let stored = try TaskResultMeta(decoding: value)
                #expect(stored.state == .success && stored.result == 42)
            }
            await backend.close()
        }
    }

    @Test func theBeatExecutableAndScheduleCommand() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-beat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.json")
        try Data(#"{"entries": [{"name": "nightly", "task": "t", "cron": "0 3 * * *", "timezone": "Europe/Berlin"}]}"#.utf8).write(to: good)
        let bad = directory.appendingPathComponent("bad.json")
        try Data(#"{"entries": [{"name": "x", "task": "t", "cron": "0 25 * * *"}]}"#.utf8).write(to: bad)
        let beat = CommandRunner.productsDirectory.appendingPathComponent("celeriac-beat")
        let celeriac = CommandRunner.productsDirectory.appendingPathComponent("celeriac")

        let help = try await CommandRunner.run(beat, ["--help"])
        #expect(help.status == 0 && help.standardOutput.contains("--schedule FILE") && help.standardOutput.contains("--dry-run"))
        let dryRun = try await CommandRunner.run(beat, ["--schedule", good.path, "--dry-run", "--count", "3"])
        #expect(dryRun.status == 0)
        let lines = dryRun.standardOutput.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.first?.hasPrefix("nightly: t cron '0 3 * * *' Europe/Berlin") == true)
        #expect(lines.dropFirst().allSatisfy { $0.contains("03:00 Europe/Berlin") })
        let listed = try await CommandRunner.run(celeriac, ["schedule", good.path, "--count", "3"])
        #expect(listed.status == 0 && listed.standardOutput == dryRun.standardOutput)
        let viaCeleriac = try await CommandRunner.run(celeriac, ["beat", "--schedule", good.path, "--dry-run", "--count", "3"])
        #expect(viaCeleriac.status == 0 && viaCeleriac.standardOutput == dryRun.standardOutput)

        let refused = try await CommandRunner.run(beat, ["--schedule", bad.path])
        #expect(refused.status == 2)
        #expect(refused.standardError.contains("entry 'x', field 'cron': cron hour field '25'"))
        #expect(try await CommandRunner.run(celeriac, ["schedule", bad.path]).status == 2)
        #expect(try await CommandRunner.run(beat, []).standardError.contains("--schedule FILE is required"))
        let unreachable = try await CommandRunner.run(
            beat, ["--schedule", good.path, "--broker", "redis://127.0.0.1:1/0"], environment: ["CELERIAC_BROKER_URL": nil])
        #expect(unreachable.status == 1)
        #expect(unreachable.standardError.contains("cannot reach the broker"))
    }
}
