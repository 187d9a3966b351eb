import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// `celeriac status|inspect|control|queues|purge|dead|events`, run as a user runs them, against a
/// Celeriac worker on a private redis-server.
@Suite struct OperatorCommandTests {
    private func celeriac(_ arguments: [String], _ harness: WorkerHarness) async throws -> CommandRunner.Output {
        try await CommandRunner.run(
            CommandRunner.productsDirectory.appendingPathComponent("celeriac"), arguments,
            environment: ["CELERIAC_BROKER_URL": harness.server.url(database: 0), "CELERIAC_RESULT_BACKEND": harness.server.url(database: 1)])
    }

    private func waitForPidbox(_ harness: WorkerHarness) async throws {
        #expect(try await eventually(attempts: 1000) {
            let reply = try await harness.redis.send("PUBSUB", "NUMSUB", "/0.celery.pidbox")
            return (reply.array?.last?.int ?? 0) >= 1
        })
    }

    @Test func remoteControlFromTheCommandLine() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2, hostname: "ops@test")) { harness in
            try await waitForPidbox(harness)
            let status = try await celeriac(["status", "-d", "ops@test", "--timeout", "10"], harness)
            #expect(status.status == 0, "\(status.standardError)")
            #expect(status.standardOutput == "->  ops@test: OK\n\n1 node online.\n")

            let registered = try await celeriac(["inspect", "registered", "--json", "-d", "ops@test", "--timeout", "10"], harness)
            let replies = try JSONValue(parsing: registered.standardOutput)
            #expect(replies["ops@test"]?.arrayValue?.contains("celeriac.examples.add") == true)

            let active = try await celeriac(["inspect", "active_queues", "-d", "ops@test", "--timeout", "10"], harness)
            #expect(active.standardOutput.hasPrefix("->  ops@test: OK\n    [{\"name\": \"celery\""), "\(active.standardOutput)")

            let added = try await celeriac(["control", "add_consumer", "ops.q", "-d", "ops@test", "--timeout", "10"], harness)
            #expect(added.standardOutput.contains(#"{"ok": "add consumer ops.q"}"#), "\(added.standardOutput)")
            #expect(harness.worker.consumedQueues == ["celery", "ops.q"])

            let bad = try await celeriac(["control", "rate_limit", "only-a-name"], harness)
            #expect(bad.status == 2)
            let nobody = try await celeriac(["status", "-d", "nobody@nowhere"], harness)
            #expect(nobody.status == 1)
            #expect(nobody.standardError.contains("no worker replied"))
            // Nothing left behind by the replies.
            #expect(try await harness.redis.smembers("_kombu.binding.reply.celery.pidbox").isEmpty)
        }
    }

    /// The read commands' `--json` forms parse as JSON with the expected content.
    @Test func readCommandsPrintJSON() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 1, hostname: "json@test", taskEvents: true)) { harness in
            try await waitForPidbox(harness)
            let ping = try JSONValue(parsing: try await celeriac(["ping", "--json"], harness).standardOutput)
            #expect(ping["broker"]?["reply"] == "PONG")
            let status = try JSONValue(parsing: try await celeriac(["status", "--json", "-d", "json@test", "--timeout", "10"], harness).standardOutput)
            #expect(status["json@test"] == ["ok": "pong"])
            let control = try JSONValue(parsing: try await celeriac(["control", "enable_events", "--json", "-d", "json@test", "--timeout", "10"], harness).standardOutput)
            #expect(control["json@test"] == ["ok": "task events already enabled"])

            let add = Signature(task: "celeriac.examples.add")
            guard case .group(let group) = try await harness.app.apply(Signature.group(add.clone(adding: [1, 1])))
            else { Issue.record("not a group"); return }
            try await group.save()
            _ = try await group.get(timeout: .seconds(30))
            let progress = try JSONValue(parsing: try await celeriac(["progress", group.id, "--json"], harness).standardOutput)
            #expect(progress == ["kind": "group", "id": .string(group.id), "done": true, "completed": 1, "total": 1])

            let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("Examples/beat.json")
            let schedule = try JSONValue(parsing: try await celeriac(["schedule", examples.path, "--count", "2", "--json"], harness).standardOutput)
            #expect(schedule.arrayValue?.first?["runs"]?.arrayValue?.count == 2)

            async let streamed = celeriac(["events", "--type", "task-succeeded", "--count", "1", "--json"], harness)
            #expect(try await eventually(attempts: 1000) { (try await harness.redis.send("PUBSUB", "NUMPAT").int ?? 0) >= 1 })
            _ = try await harness.app.send("celeriac.examples.add", args: [5, 5]).get(timeout: .seconds(30))
            let event = try JSONValue(parsing: try await streamed.standardOutput)
            #expect(event["type"] == "task-succeeded" && event["result"] == "10" && event["hostname"] == "json@test")
        }
    }

    @Test func queuesPurgeAndDeadLetters() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2, hostname: "broker-ops@test")) { harness in
            _ = try await harness.app.sendMany((0..<3).map { _ in harness.app.message("celeriac.examples.add", args: [1, 1], options: TaskOptions(queue: "idle.q")) })
            let queues = try await celeriac(["queues", "--json"], harness)
            let listed = try JSONValue(parsing: queues.standardOutput)
            #expect(listed["queues"]?["idle.q"]?["messages"] == 3, "\(queues.standardOutput)")
            #expect(listed["queues"]?["idle.q"]?["by_priority"] == ["0": 3, "3": 0, "6": 0, "9": 0])
            let table = try await celeriac(["queues"], harness)
            #expect(table.standardOutput.contains("idle.q") && table.standardOutput.hasPrefix("QUEUE"), "\(table.standardOutput)")

            let refused = try await celeriac(["purge", "idle.q"], harness)
            #expect(refused.status == 2)
            let purged = try await celeriac(["purge", "idle.q", "-f"], harness)
            #expect(purged.standardOutput == "purged 3 message(s) from idle.q\n")
            #expect(try await harness.redis.llen("idle.q") == 0)

            // A task no worker knows is dead-lettered; retry sends it round again; drop deletes it.
            let unknown = try await harness.app.send("nobody.knows.this")
            #expect(await eventually { (try? await harness.redis.llen("celeriac.dead")) == 1 })
            let dead = try await celeriac(["dead", "list"], harness)
            #expect(dead.standardOutput.contains(unknown.id) && dead.standardOutput.contains("NotRegistered"))
            let deadJSON = try await celeriac(["dead", "list", "--json"], harness)
            #expect(try JSONValue(parsing: deadJSON.standardOutput)["task_id"] == .string(unknown.id))
            let retried = try await celeriac(["dead", "retry", "--task-id", unknown.id], harness)
            #expect(retried.standardOutput == "retried 1 message(s)\n")
            #expect(await eventually { harness.logs.all.filter { $0.contains("task.rejected id=\(unknown.id)") }.count == 2 })
            let dropped = try await celeriac(["dead", "drop"], harness)
            #expect(dropped.standardOutput == "dropped 1 entr(ies)\n")
            #expect(try await harness.redis.llen("celeriac.dead") == 0)
        }
    }

    @Test func eventsAreStreamed() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 1, hostname: "watched@test", taskEvents: true)) { harness in
            async let streamed = celeriac(["events", "--type", "task-", "--count", "3"], harness)
            // Once the command listens (a pattern subscriber), run a task: received, started, succeeded.
            #expect(try await eventually(attempts: 1000) { (try await harness.redis.send("PUBSUB", "NUMPAT").int ?? 0) >= 1 })
            _ = try await harness.app.send("celeriac.examples.add", args: [2, 2]).get(timeout: .seconds(30))
            let output = try await streamed
            let lines = output.standardOutput.split(separator: "\n")
            #expect(lines.count == 3, "\(output.standardOutput)\(output.standardError)")
            #expect(lines.contains { $0.contains("watched@test task-succeeded") && $0.contains("result=4") }, "\(lines)")
        }
    }
}

/// `celeriac watch` and `celeriac revoke --group`.
@Suite struct WatchAndGroupRevokeTests {
    private func celeriac(_ arguments: [String], _ harness: WorkerHarness) async throws -> CommandRunner.Output {
        try await CommandRunner.run(
            CommandRunner.productsDirectory.appendingPathComponent("celeriac"), arguments,
            environment: ["CELERIAC_BROKER_URL": harness.server.url(database: 0), "CELERIAC_RESULT_BACKEND": harness.server.url(database: 1)])
    }

    @Test func watchFollowsATaskAndAGroup() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2)) { harness in
            let task = try await harness.app.send("celeriac.examples.progress", args: [3])
            let watched = try await celeriac(["watch", task.id, "--timeout", "60"], harness)
            #expect(watched.status == 0, "\(watched.standardError)")
            let lines = watched.standardOutput.split(separator: "\n")
            #expect(lines.contains { $0.contains("] 1/3 PROGRESS") }, "\(lines)")
            #expect(lines.last?.hasSuffix("SUCCESS") == true)

            let add = Signature(task: "celeriac.examples.add")
            guard case .group(let group) = try await harness.app.apply(Signature.group(add.clone(adding: [1, 1]), add.clone(adding: [2, 2])))
            else { Issue.record("not a group"); return }
            try await group.save()
            let json = try await celeriac(["watch", group.id, "--json", "--timeout", "60"], harness)
            let last = try JSONValue(parsing: String(json.standardOutput.split(separator: "\n").last ?? ""))
            #expect(last == ["kind": "group", "id": .string(group.id), "state": "SUCCESS", "completed": 2, "total": 2])
        }
    }

    @Test func revokeAWholeGroup() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2)) { harness in
            let add = Signature(task: "celeriac.examples.add").setting(["countdown": 60])
            guard case .group(let group) = try await harness.app.apply(Signature.group(add.clone(adding: [1, 1]), add.clone(adding: [2, 2])))
            else { Issue.record("not a group"); return }
            try await group.save()
            let revoked = try await celeriac(["revoke", "--group", group.id, "--json"], harness)
            #expect(try JSONValue(parsing: revoked.standardOutput) == .array(group.results.map { .string($0.id) }))
            // REVOKED is stored by the revoke command for a message the worker holds, at arrival for
            // one it receives later, and at its ETA for one it was admitting as the revoke came
            // (parked in Redis right after): bring parked ones forward until both are stored.
            let revokedBoth = try await eventually(attempts: 750) {
                try await harness.makeScheduledMessagesDue()
                return try await group.states() == [.revoked, .revoked]
            }
            let states = try await group.states()
            #expect(revokedBoth, "states \(states), log:\n\(harness.logs.all.suffix(40).joined(separator: "\n"))")
            // Neither ran.
            try await Task.sleep(for: .milliseconds(200))
            #expect(!harness.logs.contains("task.succeeded"))
            #expect(try await group.states() == [.revoked, .revoked])
            let missing = try await celeriac(["revoke", "--group", "no-such-group"], harness)
            #expect(missing.status == 1)
        }
    }
}
