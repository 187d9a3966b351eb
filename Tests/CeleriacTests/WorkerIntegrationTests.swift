import Celeriac
import CeleriacExamples
import Foundation
import RESP
import RedisTestSupport
import Testing

/// The worker in this process against a private redis-server.
@Suite struct WorkerIntegrationTests {
    @Test func runsTheExampleTasks() async throws {
        try await withWorker { harness in
            let app = harness.app
            #expect(try await app.send("celeriac.examples.add", args: [2, 3]).get(timeout: .seconds(10)) == 5)
            #expect(try await app.send("celeriac.examples.add", kwargs: ["x": 2, "y": 3.5]).get(timeout: .seconds(10)) == 5.5)
            #expect(try await app.send("celeriac.examples.add", args: [2], kwargs: ["y": 40]).get(timeout: .seconds(10)) == 42)
            #expect(try await app.send(Add.self, .init(x: 4, y: 5)).get(timeout: .seconds(10)) == 9)
            #expect(try await app.send("celeriac.examples.mul", args: [6, 7]).get(timeout: .seconds(10)) == 42)
            #expect(try await app.send("celeriac.examples.xsum", args: [[1, 2, 3.5]]).get(timeout: .seconds(10)) == 6.5)
            #expect(try await app.send("celeriac.examples.sleep", args: [0.05]).get(timeout: .seconds(10)) == 0.05)
            #expect(try await app.send("celeriac.examples.noop").get(timeout: .seconds(10)) == .null)

            let failing = try await app.send("celeriac.examples.fail", args: ["boom"])
            let failure = await #expect(throws: TaskFailure.self) { try await failing.get(timeout: .seconds(10)) }
            #expect(failure?.type == "ValueError")
            #expect(failure?.module == "builtins")
            #expect(failure?.arguments == ["boom"])
            #expect(failure?.traceback?.contains("ValueError: boom") == true)

            // A bad call fails like Python's: TypeError.
            let badCall = try await app.send("celeriac.examples.add", args: [1, 2, 3])
            let typeError = await #expect(throws: TaskFailure.self) { try await badCall.get(timeout: .seconds(10)) }
            #expect(typeError?.type == "TypeError")
            let missing = try await app.send("celeriac.examples.add", args: [1])
            #expect(await #expect(throws: TaskFailure.self) { try await missing.get(timeout: .seconds(10)) }?.type == "TypeError")

            // PROGRESS meta is stored while the task runs.
            let progress = try await app.send("celeriac.examples.progress", args: [3])
            let sawProgress = try await eventually {
                guard try await progress.state() == "PROGRESS" else { return false }
                return try await progress.info()["total"] == 3
            }
            #expect(sawProgress)
            #expect(try await progress.get(timeout: .seconds(10)) == 3)

            // The stored value has Celery's shape.
            let stored = try #require(try await app.backend.meta(for: failing.id))
            #expect(Array(stored.fields.map(\.0)) == ["status", "result", "traceback", "children", "date_done", "task_id"])
            #expect(harness.logs.contains("task.failed id=\(failing.id)"))
            #expect(harness.logs.contains("task.succeeded"))
        }
    }

    @Test func keepsKombusUnackedBookkeepingUntilAnAcksLateTaskFinishes() async throws {
        let configuration = WorkerConfiguration(concurrency: 1, acksLate: true)
        try await withWorker(configuration) { harness in
            let sent = try await harness.app.send("celeriac.examples.sleep", args: [3])
            #expect(try await eventually { try await harness.redis.hgetall("unacked").count == 1 })
            let entries = try await harness.redis.hgetall("unacked")
            let (tag, value) = try #require(entries.first)
            // JSON [envelope, exchange, routing_key], the envelope as it was in the queue.
            let parsed = try #require(try JSONValue(parsing: value).arrayValue)
            #expect(parsed.count == 3)
            #expect(parsed.dropFirst() == ["", "celery"])
            #expect(String(decoding: value.prefix(10), as: UTF8.self) == #"[{"body": "#)
            #expect(String(decoding: value, as: UTF8.self).hasSuffix(#"}, "", "celery"]"#))
            let envelope = try TaskMessage(decoding: parsed[0].serialized())
            #expect(envelope.id == sent.id && envelope.deliveryTag == tag)
            let score = try #require(try await harness.redis.zscore("unacked_index", tag))
            #expect(abs(score - Date().timeIntervalSince1970) < 60)

            #expect(try await sent.get(timeout: .seconds(10)) == 3)
            #expect(try await eventually { try await harness.redis.hgetall("unacked").isEmpty })
            #expect(try await harness.redis.zcard("unacked_index") == 0)
        }
    }

    @Test func servesPriorityListsFirstAndRotatesQueues() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            try await app.send("t", args: [1], options: TaskOptions(queue: "a", priority: 9))
            try await app.send("t", args: [2], options: TaskOptions(queue: "b", priority: 0))
            try await app.send("t", args: [3], options: TaskOptions(queue: "a", priority: 0))
            try await app.send("t", args: [4], options: TaskOptions(queue: "b", priority: 3))
            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "test@host")
            #expect(RedisConsumer.fetchOrder(["a", "b"]).map(\.key).prefix(4) == ["a", "b", "a\u{06}\u{16}3", "b\u{06}\u{16}3"])
            let fetched = try await consumer.fetch(from: ["a", "b"], limit: 10)
            let order = try fetched.map { try TaskMessage(decoding: $0.raw).args }
            #expect(order == [[3], [2], [4], [1]])
            #expect(fetched.map(\.queue) == ["a", "b", "b", "a"])
            let redis = try await RedisConnection.connect(url: server.url())
            #expect(try await redis.hgetall("unacked").count == 4)
            try await consumer.ack(fetched.compactMap(\.deliveryTag))
            #expect(try await redis.hgetall("unacked").isEmpty)
        }
    }

    /// The fetch script reads tag, exchange and routing key with a plain search when each occurs
    /// once with a plain string value, with `cjson.decode` otherwise: both ways record kombu's entry.
    @Test func fetchRecordsEveryEnvelopeShapeAsKombuDoes() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let redis = try await RedisConnection.connect(url: server.url())
            // The entry a Python worker wrote, and the envelope it holds as it was in the queue.
            let pythonEntry = try CeleryFixtures.bytes("broker", "acks-late-unacked-hash-value")
            let pythonRaw = Array(pythonEntry.dropFirst().dropLast(#", "", "celery"]"#.utf8.count))
            let routed = try CeleryFixtures.bytes("broker", "task-exchange-routing-key")
            let compact = #"{"body":"W10=","properties":{"delivery_info":{"exchange":"e","routing_key":"k"},"delivery_tag":"compact"}}"#
            let escaped = #"{"body": "W10=", "properties": {"delivery_tag": "a\"b", "delivery_info": {"exchange": "", "routing_key": "celery"}}}"#
            let twice = #"{"headers": {"delivery_tag": "header"}, "properties": {"delivery_tag": "real", "delivery_info": {"exchange": "", "routing_key": "celery"}}}"#
            let noInfo = #"{"properties": {"delivery_tag": "no-info"}}"#
            let messages: [[UInt8]] = [pythonRaw, routed, Array(compact.utf8), Array(escaped.utf8), Array(twice.utf8), Array(noInfo.utf8)]
            try await redis.lpush("celery", messages.map { $0 as any RESPArgument })

            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "test@host")
            let fetched = try await consumer.fetch(from: ["celery"], limit: 10)
            #expect(fetched.map(\.raw) == messages)
            let pythonTag = try #require(try JSONValue(parsing: pythonRaw)["properties"]?["delivery_tag"]?.stringValue)
            let routedTag = try #require(try JSONValue(parsing: routed)["properties"]?["delivery_tag"]?.stringValue)
            #expect(fetched.map(\.deliveryTag) == [pythonTag, routedTag, "compact", #"a"b"#, "real", "no-info"])
            let entries = try await redis.hgetall("unacked")
            #expect(entries[pythonTag] == pythonEntry)
            #expect(entries[routedTag] == Array("[".utf8) + routed + Array(#", "capture.ex", "capture.rk"]"#.utf8))
            #expect(entries["compact"] == Array("[\(compact), \"e\", \"k\"]".utf8))
            #expect(entries[#"a"b"#] == Array("[\(escaped), \"\", \"celery\"]".utf8))
            #expect(entries["real"] == Array("[\(twice), \"\", \"celery\"]".utf8))
            #expect(entries["no-info"] == Array("[\(noInfo), \"\", \"celery\"]".utf8))
            #expect(try await redis.zcard("unacked_index") == 6)
        }
    }

    @Test func aRepeatedFetchRequestGetsItsSavedReplyInsteadOfPoppingAgain() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            try await app.sendMany((0..<5).map { app.message("t", args: [.integer($0)]) })
            let redis = try await RedisConnection.connect(url: server.url())
            try await redis.rpush("celery", ["{not json"])  // fetched first
            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "test@host")
            let request = RedisConsumer.FetchRequest()
            let first = try await consumer.fetch(from: ["celery"], limit: 3, request: request)
            #expect(first.map(\.deadLetterReason) == ["the message is not valid JSON", nil, nil])
            // The reply was "lost": the same request again returns the same messages.
            let again = try await consumer.fetch(from: ["celery"], limit: 3, request: request)
            #expect(first.map(\.deliveryTag) == again.map(\.deliveryTag))
            #expect(first.map(\.deadLetterReason) == again.map(\.deadLetterReason))
            #expect(first.map(\.raw) == again.map(\.raw))
            #expect(try await redis.llen("celery") == 3)
            #expect(try await redis.llen("celeriac.dead") == 1)
            #expect(try await redis.exists([consumer.fetchReplyKey(request.chainID)]) == 1)
            // The next request of the chain takes new messages, its reply replacing the saved one.
            let following = RedisConsumer.FetchRequest(after: request)
            #expect(following.chainID == request.chainID && following.id != request.id)
            let next = try await consumer.fetch(from: ["celery"], limit: 2, request: following)
            #expect(Set(next.compactMap(\.deliveryTag)).isDisjoint(with: first.compactMap(\.deliveryTag)))
            #expect(try await redis.hgetall("unacked").count == 4)
            // One key per chain; the first request repeated now pops again (its reply was replaced).
            #expect(try await redis.send("KEYS", "celeriac.fetch.*").array?.count == 1)
            let repeated = try await consumer.fetch(from: ["celery"], limit: 3, request: request)
            #expect(repeated.count == 1)
            #expect(try await redis.llen("celery") == 0)
        }
    }

    /// The fetch script writes a batch's bookkeeping with one ZADD and one HSET per 500 messages
    /// (Lua's stack bounds one call's arguments): a batch of 1,200 records every message.
    @Test func aLargeFetchRecordsEveryMessageInChunks() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            try await app.sendMany((0..<1_200).map { app.message("t", args: [.integer($0)]) })
            let redis = try await RedisConnection.connect(url: server.url())
            _ = try await redis.send("CONFIG", "RESETSTAT")
            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "test@host")
            let fetched = try await consumer.fetch(from: ["celery"], limit: 5_000)
            #expect(fetched.count == 1_200)
            let tags = Set(fetched.compactMap(\.deliveryTag))
            #expect(tags.count == 1_200)
            #expect(Set(try await redis.hgetall("unacked").keys) == tags)
            #expect(try await redis.zcard("unacked_index") == 1_200)
            let stats = try await redis.send("INFO", "commandstats").string ?? ""
            #expect(stats.contains("cmdstat_zadd:calls=3,"))
            #expect(stats.contains("cmdstat_hset:calls=3,"))
        }
    }

    /// Redis answering the fetch with an error (here a queue key of the wrong type) is logged as a
    /// refusal at error level, not as an unreachable Redis; the worker fetches again once it is fixed.
    @Test func aRefusedFetchIsLoggedAsSuchAndRetried() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 1)) { harness in
            try await harness.redis.send("SET", "celery", "not a list")
            #expect(await eventually(attempts: 500) { harness.logs.contains("fetch.refused") })
            #expect(harness.logs.contains("WRONGTYPE"))
            #expect(!harness.logs.contains("redis.unreachable"))
            try await harness.redis.send("DEL", "celery")
            let sum = try await harness.app.send("celeriac.examples.add", args: [2, 3])
            #expect(try await sum.get(timeout: .seconds(30)) == 5)
        }
    }

    /// `shutdown()`, or cancelling the task that awaits `run()`: the same warm shutdown.
    @Test(arguments: [false, true])
    func warmShutdownGivesPrefetchedMessagesBack(byCancelling: Bool) async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let registry = TaskRegistry()
            try ExampleTasks.register(in: registry)
            let logs = LogCollector()
            let worker = Worker(
                app: app, registry: registry, configuration: WorkerConfiguration(concurrency: 1, prefetch: 4),
                logger: logs.logger)
            let running = Task { try await worker.run() }
            let slow = try await app.send("celeriac.examples.sleep", args: [2])
            let waiting = try await app.sendMany((0..<3).map { app.message("celeriac.examples.add", args: [.integer($0), 1]) })
            let redis = try await RedisConnection.connect(url: server.url())
            #expect(try await eventually {
                let held = try await redis.hgetall("unacked").count
                let queued = try await redis.llen("celery")
                return held == 3 && queued == 0
            })
            if byCancelling { running.cancel() } else { worker.shutdown() }
            try await running.value
            // The running task finished; the three waiting ones are back, first in line, flagged.
            #expect(try await slow.state() == .success)
            #expect(try await redis.hgetall("unacked").isEmpty)
            let restored = try await redis.lrange("celery").map { try TaskMessage(decoding: $0) }
            #expect(Set(restored.map(\.id)) == Set(waiting.map(\.id)))
            #expect(restored.allSatisfy { $0.headers["redelivered"] == true })
            #expect(restored.allSatisfy { $0.properties["delivery_info"]?["redelivered"] == true })
            for result in waiting { #expect(try await result.state() == .pending) }
            #expect(logs.contains("worker.restored count=3"))
            await redis.close()
            await app.close()
        }
    }

    @Test func sweepRestoresEntriesOfDeadConsumersLikeKombu() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let redis = try await RedisConnection.connect(url: server.url())
            // An entry exactly as a Python worker wrote it, fetched two hours ago.
            let value = try CeleryFixtures.bytes("broker", "acks-late-unacked-hash-value")
            let tag = try #require(try JSONValue(parsing: value).arrayValue?.first?["properties"]?["delivery_tag"]?.stringValue)
            try await redis.hset("unacked", fields: [(tag, value)])
            try await redis.zadd("unacked_index", [(Date().timeIntervalSince1970 - 7200, tag)])
            // And a fresh one, which must stay.
            try await redis.hset("unacked", fields: [("fresh", value)])
            try await redis.zadd("unacked_index", [(Date().timeIntervalSince1970, "fresh")])

            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "test@host")
            #expect(try await consumer.restoreVisibilityTimedOut(visibilityTimeout: .seconds(3600)) == 1)
            let restored = try TaskMessage(decoding: try #require(try await redis.rpop("celery")))
            #expect(restored.deliveryTag == tag)
            #expect(restored.headers["redelivered"] == true)
            #expect(restored.properties["delivery_info"] == ["exchange": "", "routing_key": "celery", "redelivered": true])
            #expect(try await redis.hgetall("unacked").keys.sorted() == ["fresh"])
            #expect(try await redis.get("unacked_mutex") == nil)

            // While another consumer holds the mutex, nothing is swept.
            try await redis.zadd("unacked_index", [(0, "fresh")])
            _ = try await redis.set("unacked_mutex", to: "someone-else")
            #expect(try await consumer.restoreVisibilityTimedOut(visibilityTimeout: .seconds(1)) == 0)
            #expect(try await redis.llen("celery") == 0)
        }
    }

    @Test func theSweepLockExpiresAfterTheConfiguredTime() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let redis = try await RedisConnection.connect(url: server.url())
            // Index entries without hash values: each costs the sweep two round trips, so it holds
            // its lock long enough to be seen.
            let stale = (0..<5000).map { (score: 0.0, member: "gone-\($0)" as any RESPArgument) }
            for chunk in stride(from: 0, to: stale.count, by: 1000) {
                try await redis.zadd("unacked_index", Array(stale[chunk..<chunk + 1000]))
            }
            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "test@host")
            let sweep = Task { try await consumer.restoreVisibilityTimedOut(visibilityTimeout: .seconds(1), mutexExpiry: .seconds(7)) }
            var ttl = -2
            for _ in 0..<5000 where ttl < 0 {
                ttl = try await redis.send(RESPCommand("PTTL", "unacked_mutex")).int ?? -2
            }
            #expect(try await sweep.value == 0)
            #expect(ttl > 0 && ttl <= 7000, "the lock's PTTL was \(ttl) ms")
            #expect(try await redis.send(RESPCommand("ZCARD", "unacked_index")).int == 0)
            #expect(try await redis.get("unacked_mutex") == nil)
        }
    }

    @Test func countdownsOutlastingTheVisibilityTimeoutRunExactlyOnce() async throws {
        let configuration = WorkerConfiguration(
            concurrency: 2, visibilityTimeout: .seconds(1), restoreInterval: .milliseconds(200),
            scheduleThreshold: .milliseconds(100))
        try await withWorker(configuration, register: { registry in
            try registry.register("test.count") { args, _, _ in
                WorkerHarness.counters.increment(args.first?.stringValue ?? "")
                return .null
            }
        }) { harness in
            let key = UUID().uuidString
            // The worker is fetching before the clock starts (on a loaded machine its start can
            // take seconds, and the check below has less than the 6 s countdown to see the hold).
            #expect(try await harness.app.send("celeriac.examples.add", args: [1, 1]).get(timeout: .seconds(30)) == 2)
            let sentAt = Date()
            let result = try await harness.app.send("test.count", args: [.string(key)], options: TaskOptions(countdown: .seconds(6)))
            // Held in Redis, not in unacked (which the 1 s visibility sweep would restore).
            #expect(try await eventually(attempts: 1000) { try await harness.redis.zcard("celeriac.scheduled") == 1 })
            #expect(try await harness.redis.hgetall("unacked").isEmpty)
            _ = try await result.get(timeout: .seconds(20))
            let done = try #require(try await harness.app.backend.meta(for: result.id)?.dateDone)
            #expect(done.timeIntervalSince(sentAt) >= 5.9)
            try await Task.sleep(for: .seconds(2))
            #expect(WorkerHarness.counters.value(key) == 1)
            #expect(try await harness.redis.zcard("celeriac.scheduled") == 0)
            #expect(try await harness.redis.hgetall("celeriac.scheduled.messages").isEmpty)
        }
    }

    /// A near ETA (under the schedule threshold) is held in memory, unacked, shown by `inspect
    /// scheduled`, and runs when due; a warm shutdown gives a held one back to its queue.
    @Test func nearCountdownsAreHeldInMemoryUntilDue() async throws {
        let configuration = WorkerConfiguration(concurrency: 2, scheduleThreshold: .seconds(30))
        try await withWorker(configuration) { harness in
            #expect(try await harness.app.send("celeriac.examples.add", args: [1, 1]).get(timeout: .seconds(30)) == 2)
            let sentAt = Date()
            let soon = try await harness.app.send("celeriac.examples.add", args: [2, 3], options: TaskOptions(countdown: .seconds(2)))
            let later = try await harness.app.send("celeriac.examples.add", args: [4, 5], options: TaskOptions(countdown: .seconds(25)))
            let control = ControlClient(app: harness.app)
            func scheduled() async throws -> Int {
                let replies = try await control.broadcast("scheduled", timeout: .seconds(2), limit: 1)
                return replies.values.first?.arrayValue?.count ?? -1
            }
            #expect(try await eventually { try await scheduled() == 2 })
            #expect(try await harness.redis.zcard("celeriac.scheduled") == 0)
            #expect(try await harness.redis.hgetall("unacked").count == 2)
            #expect(try await soon.get(timeout: .seconds(20)) == 5)
            let done = try #require(try await harness.app.backend.meta(for: soon.id)?.dateDone)
            #expect(done.timeIntervalSince(sentAt) >= 1.9)
            #expect(try await scheduled() == 1)
            harness.worker.shutdown()
            #expect(try await eventually { try await harness.redis.llen("celery") == 1 })
            #expect(try await harness.app.asyncResult(later.id).state() == .pending)
        }
    }

    @Test func expiredMessagesAreRevoked() async throws {
        try await withWorker { harness in
            let expired = try await harness.app.send(
                "celeriac.examples.add", args: [1, 2], options: TaskOptions(expires: .at(Date().addingTimeInterval(-5))))
            let failure = await #expect(throws: TaskFailure.self) { try await expired.get(timeout: .seconds(10)) }
            #expect(failure?.type == "TaskRevokedError")
            #expect(failure?.arguments == ["expired"])
            #expect(try await expired.state() == .revoked)
        }
    }

    @Test func badMessagesGoToTheDeadLetterListAndTheWorkerGoesOn() async throws {
        try await withWorker { harness in
            let redis = harness.redis
            let good = harness.app.message("celeriac.examples.add", args: [1, 1])
            var badBody = good
            badBody.properties["delivery_tag"] = "bad-base64"
            var envelope = String(decoding: badBody.encoded(), as: UTF8.self)
            envelope = envelope.replacingOccurrences(of: #""body": ""#, with: #""body": "!!not base64"#)
            var noHeaders = try JSONValue(parsing: harness.app.message("celeriac.examples.add").encoded())
            if case .object(var object) = noHeaders {
                object["headers"] = nil
                noHeaders = .object(object)
            }
            let unknown = harness.app.message("celeriac.examples.nope", args: [1])
            // A tag only in a header: the fetch script's plain search reads it; the worker sees
            // that the envelope's properties have none.
            var headerTag = harness.app.message("celeriac.examples.add", args: [1, 1])
            headerTag.properties["delivery_tag"] = nil
            headerTag.headers["delivery_tag"] = "from-a-header"
            try await redis.lpush(
                "celery", ["{not json", Array(envelope.utf8), noHeaders.serialized(), unknown.encoded(), headerTag.encoded()])

            #expect(try await harness.app.send("celeriac.examples.add", args: [20, 22]).get(timeout: .seconds(10)) == 42)
            #expect(try await eventually { try await redis.llen("celeriac.dead") == 5 })
            let entries = try await redis.lrange("celeriac.dead").map { try DeadLetterEntry(decoding: $0) }
            let reasons = entries.map(\.reason)
            #expect(reasons.contains("the message is not valid JSON"))
            #expect(reasons.contains { $0.contains("base64") })
            #expect(reasons.contains { $0.contains("headers") })
            #expect(reasons.contains("NotRegistered: celeriac.examples.nope"))
            #expect(reasons.contains("the message has no properties.delivery_tag"))
            #expect(try await harness.app.asyncResult(headerTag.id).state() == .failure)
            #expect(entries.contains { $0.message == Array("{not json".utf8) })
            #expect(entries.allSatisfy { $0.queue == "celery" })
            // An early ack is sent on its own, so it may reach Redis after the task's result.
            #expect(try await eventually { try await redis.hgetall("unacked").isEmpty })

            // Ids that could be read get FAILURE, NotRegistered like Celery's.
            let notRegistered = await #expect(throws: TaskFailure.self) {
                try await harness.app.asyncResult(unknown.id).get(timeout: .seconds(5))
            }
            #expect(notRegistered?.type == "NotRegistered")
            #expect(notRegistered?.module == "celery.exceptions")
            #expect(notRegistered?.arguments == ["celeriac.examples.nope"])
            #expect(try await harness.app.asyncResult(good.id).state() == .failure)
            #expect(harness.logs.contains("task.rejected"))
        }
    }
}
