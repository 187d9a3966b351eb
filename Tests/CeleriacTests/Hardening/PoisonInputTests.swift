import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// The reproduced crashes of issue #11 (tracker 25), against a real worker on a real
/// redis-server: each poison message, control command or Redis state, then the worker still
/// serves a normal task. Before the fixes each of these killed the test process (SIGILL).
@Suite(.serialized) struct PoisonInputTests {
    private func stillServes(_ harness: WorkerHarness) async throws {
        #expect(try await harness.app.send("celeriac.examples.add", args: [20, 22]).get(timeout: .seconds(10)) == 42)
    }

    /// Pushes raw messages as a Python producer would, and returns the dead-letter reasons once
    /// all of them arrived.
    private func deadLettered(_ messages: [TaskMessage], _ harness: WorkerHarness) async throws -> [String] {
        try await harness.redis.lpush("celery", messages.map { $0.encoded() as any RESPArgument })
        #expect(try await eventually { try await harness.redis.llen("celeriac.dead") == messages.count })
        return try await harness.redis.lrange("celeriac.dead").map { try DeadLetterEntry(decoding: $0).reason }
    }

    private func expectFailure(_ id: String, _ harness: WorkerHarness, mentioning text: String) async throws {
        let failure = await #expect(throws: TaskFailure.self) {
            try await harness.app.asyncResult(id).get(timeout: .seconds(10))
        }
        #expect(failure?.type == "MessageDecodeError")
        #expect(failure?.description.contains(text) == true, "\(failure?.description ?? "-")")
    }

    /// Cases 1, 2 and 8, with early ack and with acks-late (where a crash would repeat at
    /// every restart): dead-lettered with the reason, FAILURE stored for the id.
    @Test(arguments: [false, true]) func poisonMessagesAreDeadLetteredWithTheirReason(acksLate: Bool) async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2, acksLate: acksLate)) { harness in
            let app = harness.app
            var timeLimit = app.message("celeriac.examples.add", args: [1, 2])
            timeLimit.headers["timelimit"] = [1e17, nil]
            var infinite = app.message("celeriac.examples.add", args: [1, 2])
            infinite.headers["timelimit"] = [nil, .double(.infinity)]
            var retries = app.message("celeriac.examples.add", args: [1, 2])
            retries.headers["retries"] = .integer(.max)
            var chain = app.message("celeriac.examples.add", args: [1, 2])
            chain.embed["chain"] = [Signature(task: "celeriac.examples.add", args: [3], options: ["countdown": 1e300]).jsonValue]
            var callback = app.message("celeriac.examples.add", args: [1, 2])
            callback.embed["callbacks"] = [Signature(task: "celeriac.examples.add", args: [3], options: ["expires": 1e300]).jsonValue]

            let reasons = try await deadLettered([timeLimit, infinite, retries, chain, callback], harness)
            #expect(reasons.filter { $0.contains("headers.timelimit") }.count == 2)
            #expect(reasons.contains { $0.contains("headers.retries") })
            #expect(reasons.contains { $0.contains("embed.chain: options.countdown") })
            #expect(reasons.contains { $0.contains("embed.callbacks: options.expires") })
            try await expectFailure(timeLimit.id, harness, mentioning: "timelimit")
            try await expectFailure(chain.id, harness, mentioning: "countdown")
            #expect(try await eventually { try await harness.redis.hgetall("unacked").isEmpty })
            try await stillServes(harness)
        }
    }

    /// A body whose JSON strings are not UTF-8 is refused (FAILURE, dead letter), never run with
    /// U+FFFD in place of the bytes sent.
    @Test func bodiesThatAreNotUTF8AreRefused() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2)) { harness in
            let message = harness.app.message("celeriac.examples.add", args: ["x", 1])
            guard case .object(var envelope) = try JSONValue(parsing: message.encoded()) else { return }
            let body = Array(#"[[""#.utf8) + [0xFF, 0xFE] + Array(#"", 1], {}, {}]"#.utf8)
            envelope["body"] = .string(Data(body).base64EncodedString())
            try await harness.redis.lpush("celery", [JSONValue.object(envelope).serialized()])
            #expect(try await eventually { try await harness.redis.llen("celeriac.dead") == 1 })
            let reason = try await harness.redis.lrange("celeriac.dead").map { try DeadLetterEntry(decoding: $0).reason }.first
            #expect(reason?.contains("not UTF-8") == true, "\(reason ?? "-")")
            try await expectFailure(message.id, harness, mentioning: "UTF-8")
            try await stillServes(harness)
        }
    }

    /// A Celery 5 producer with `task_protocol = 1` (captured envelope shape): the worker runs
    /// the task and its callback, as Celery's worker does.
    @Test func protocolOneMessagesRun() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2)) { harness in
            let id = CeleryID.random()
            let callbackID = CeleryID.random()
            let callback = Signature(task: "celeriac.examples.add", args: [10], options: ["task_id": .string(callbackID)])
                .jsonValue.serializedString
            let body = #"{"task": "celeriac.examples.add", "id": "\#(id)", "args": [2, 3], "kwargs": {}, "group": null, "#
                + #""group_index": null, "retries": 0, "eta": null, "expires": null, "utc": true, "callbacks": [\#(callback)], "#
                + #""errbacks": null, "timelimit": [30, null], "taskset": null, "chord": null}"#
            let envelope: JSONValue = [
                "body": .string(Data(body.utf8).base64EncodedString()), "content-encoding": "utf-8",
                "content-type": "application/json", "headers": [:],
                "properties": [
                    "correlation_id": .string(id), "delivery_mode": 2, "delivery_info": ["exchange": "", "routing_key": "celery"],
                    "priority": 0, "body_encoding": "base64", "delivery_tag": .string(CeleryID.random()),
                ],
            ]
            try await harness.redis.lpush("celery", [envelope.serialized()])
            #expect(try await harness.app.asyncResult(id).get(timeout: .seconds(10)) == 5)
            #expect(try await harness.app.asyncResult(callbackID).get(timeout: .seconds(10)) == 15)
        }
    }

    /// Cases 3 and 4: out-of-range control arguments get an error reply and change nothing.
    @Test func outOfRangeControlArgumentsAreRefused() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2)) { harness in
            let control = ControlClient(app: harness.app)
            func ask(_ method: String, _ arguments: JSONObject) async throws -> JSONValue? {
                try await control.broadcast(method, arguments: arguments, timeout: .seconds(5), limit: 1).values.first
            }
            // The worker listens on the pidbox once it has started.
            #expect(try await eventually { try await control.broadcast("ping", timeout: .milliseconds(500), limit: 1).count == 1 })
            for n: JSONValue in [.integer(.max), 20_000, .double(.nan), -3] {
                let reply = try await ask("pool_grow", ["n": n])
                #expect(reply?["error"]?.stringValue != nil, "pool_grow n=\(n): \(String(describing: reply))")
            }
            #expect(harness.worker.currentConcurrency == 2)
            #expect(try await ask("pool_grow", ["n": 2])?["ok"] != nil)
            #expect(harness.worker.currentConcurrency == 4)

            for (soft, hard): (JSONValue, JSONValue) in [(1e300, 10), (5, .double(.infinity)), (-1, 10)] {
                let reply = try await ask("time_limit", ["task_name": "celeriac.examples.add", "soft": soft, "hard": hard])
                #expect(reply?["error"]?.stringValue != nil, "time_limit \(soft) \(hard)")
            }
            let rate = try await ask("rate_limit", ["task_name": "celeriac.examples.add", "rate_limit": "1e-300/s"])
            #expect(rate?["error"]?.stringValue != nil)
            try await stillServes(harness)
        }
    }

    /// A pidbox flood: 60 revokes of 1,000 ids each. The worker holds at most 50,000 (as Celery),
    /// so does `celeriac.revoked`, and it still serves tasks and shuts down (warm) at once after.
    @Test func aFloodOfRevokesStaysBounded() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2)) { harness in
            let control = ControlClient(app: harness.app)
            #expect(try await eventually { try await control.broadcast("ping", timeout: .milliseconds(500), limit: 1).count == 1 })
            for round in 0..<60 {
                let ids = (0..<1000).map { JSONValue.string("flood-\(round)-\($0)") }
                _ = try await control.broadcast("revoke", arguments: ["task_id": .array(ids)], reply: false)
            }
            #expect(try await eventually(attempts: 3000) {
                try await harness.redis.send(RESPCommand("ZCARD", "celeriac.revoked")).int == 50_000
            })
            let revoked = try await control.broadcast("revoked", timeout: .seconds(30), limit: 1).values.first?.arrayValue
            #expect(revoked?.count == 50_000)
            #expect(revoked?.contains("flood-59-999") == true)
            #expect(revoked?.contains("flood-0-0") == false)
            try await stillServes(harness)
        }
    }

    /// Case 6: a scheduled entry at `+inf` (and `nan`-like junk) is skipped; the worker lives on
    /// past several housekeeping rounds and serves tasks, countdowns included.
    @Test func infiniteScoresInTheScheduleAreSkipped() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2)) { harness in
            _ = try await harness.redis.send(RESPCommand("ZADD", "celeriac.scheduled", "+inf", "x"))
            _ = try await harness.redis.send(RESPCommand("ZADD", "celeriac.scheduled", "-inf", "y"))
            try await Task.sleep(for: .milliseconds(2500))
            try await stillServes(harness)
            var options = TaskOptions()
            options.countdown = .milliseconds(200)
            #expect(try await harness.app.send("celeriac.examples.add", args: [1, 1], options: options).get(timeout: .seconds(10)) == 2)
        }
    }

    /// Case 7: a chord whose size `.s` is Int.max with a correction `.t`: the header task
    /// finishes (the chord just stays open), the worker lives on.
    @Test func chordSizesNearIntMaxDoNotOverflow() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2)) { harness in
            let groupID = CeleryID.random()
            let keys = ChordCounter.Keys(groupID)
            let backend = try await RedisConnection.connect(url: harness.server.url(database: 1))
            _ = try await backend.send(RESPCommand("SET", keys.size, String(Int.max)))
            _ = try await backend.send(RESPCommand("SET", keys.sizeCorrection, "1"))
            await backend.close()
            var options = TaskOptions()
            options.groupID = groupID
            options.groupIndex = 0
            var header = harness.app.message("celeriac.examples.add", args: [1, 2], options: options)
            header.embed["chord"] = Signature(task: "celeriac.examples.xsum").jsonValue
            try await harness.redis.lpush("celery", [header.encoded()])
            #expect(try await harness.app.asyncResult(header.id).get(timeout: .seconds(10)) == 3)
            let progress = try await harness.app.backend.chords.progress(groupID: groupID)
            #expect(progress.total == Int.max)
            try await stillServes(harness)
        }
    }
}
