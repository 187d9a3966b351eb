import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// Remote-control commands that change what a running worker does, sent as Celery sends them
/// (a pidbox broadcast), against a real redis-server.
@Suite struct ControlCommandTests {
    /// Publishes `method` on the pidbox once the worker listens (broadcasts reach subscribers only).
    private func broadcast(_ method: String, _ arguments: JSONObject, to harness: WorkerHarness) async throws {
        #expect(try await eventually(attempts: 1000) {
            let reply = try await harness.redis.send("PUBSUB", "NUMSUB", "/0.celery.pidbox")
            return (reply.array?.last?.int ?? 0) >= 1
        })
        let request = ControlRequest(method: method, arguments: arguments)
        _ = try await harness.redis.publish("/0.celery.pidbox", request.encoded())
    }

    @Test func addAndCancelConsumer() async throws {
        try await withWorker(WorkerConfiguration(queues: ["celery"], concurrency: 2, hostname: "control@test")) { harness in
            try await broadcast("add_consumer", ["queue": "late.q"], to: harness)
            #expect(await eventually { harness.worker.consumedQueues == ["celery", "late.q"] })
            let served = try await harness.app.send("celeriac.examples.add", args: [2, 3], options: TaskOptions(queue: "late.q"))
            #expect(try await served.get(timeout: .seconds(30)) == 5)

            try await broadcast("cancel_consumer", ["queue": "late.q"], to: harness)
            #expect(await eventually { harness.worker.consumedQueues == ["celery"] })
            // Give the fetch loop a turn (its BRPOP waits 1 s at most): the message stays queued.
            try await Task.sleep(for: .milliseconds(1500))
            let waiting = try await harness.app.send("celeriac.examples.add", args: [1, 1], options: TaskOptions(queue: "late.q"))
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await harness.redis.llen("late.q") == 1)
            #expect(try await waiting.state() == .pending)
            // Still served from its other queue.
            #expect(try await harness.app.send("celeriac.examples.add", args: [4, 4]).get(timeout: .seconds(30)) == 8)
        }
    }

    @Test func poolGrowAddsASlotAndPoolShrinkRetiresOne() async throws {
        try await withWorker(WorkerConfiguration(queues: ["celery"], concurrency: 1, hostname: "pool@test")) { harness in
            // The only slot is busy for a long time...
            let long = try await harness.app.send("celeriac.examples.sleep", args: [120])
            #expect(await eventually { harness.worker.activeTaskIDs == [long.id] })
            // ...a new slot runs the next task meanwhile.
            try await broadcast("pool_grow", ["n": 1], to: harness)
            #expect(await eventually { harness.worker.currentConcurrency == 2 })
            #expect(try await harness.app.send("celeriac.examples.add", args: [2, 2]).get(timeout: .seconds(30)) == 4)
            #expect(harness.worker.activeTaskIDs == [long.id])

            try await broadcast("pool_shrink", ["n": 5], to: harness)
            #expect(await eventually { harness.worker.currentConcurrency == 1 })
            try await harness.app.revoke([long.id], terminate: true)
            #expect(await eventually { harness.worker.activeTaskIDs.isEmpty })
            #expect(try await harness.app.send("celeriac.examples.add", args: [3, 3]).get(timeout: .seconds(30)) == 6)
        }
    }

    @Test func producersSendTaskSentEvents() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url(database: 0), sendTaskSentEvents: true)
            let subscriber = try RedisSubscriber(try RedisConfiguration(url: server.url(database: 0)))
            try await subscriber.psubscribe(["/0.celeryev/*"])
            let seen = EventLog()
            let listening = Task {
                for await event in subscriber.events {
                    if case .message(let message) = event, let decoded = try? CeleryEvent.decodeAll(message.payload) {
                        seen.events.withLock { $0.append(contentsOf: decoded) }
                    }
                }
            }
            let sent = try await app.send("celeriac.examples.add", args: [2, 3], options: TaskOptions(queue: "sent.q"))
            #expect(await eventually { seen.events.withLock { !$0.isEmpty } })
            let event = try #require(seen.events.withLock { $0.first })
            #expect(event.type == "task-sent")
            #expect(event.fields["uuid"] == .string(sent.id))
            #expect(event.fields["name"] == "celeriac.examples.add")
            #expect(event.fields["queue"] == "sent.q")
            #expect(event.fields["args"] == "[2, 3]")
            #expect(event.hostname == app.origin)
            subscriber.close()
            listening.cancel()
            await app.close()
        }
    }
}
