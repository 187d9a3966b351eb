import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Synchronization
import Testing

/// Events as Celery 5.7 publishes them (`Fixtures/celery/events`), and a worker's events on a
/// real redis-server.
@Suite struct CeleryEventTests {
    @Test func readsAndWritesCeleryEventsByteForByte() throws {
        for name in ["publish-worker.heartbeat-1", "publish-worker.online-1", "publish-worker.offline-1", "publish-task.sent-1"] {
            let raw = try CeleryFixtures.bytes("events", name)
            let event = try CeleryEvent(decoding: raw)
            let tag = try #require(try JSONValue(parsing: raw)["properties"]?["delivery_tag"]?.stringValue)
            #expect(event.encoded(deliveryTag: tag) == raw, "\(name)")
        }
        let heartbeat = try CeleryEvent(decoding: CeleryFixtures.bytes("events", "publish-worker.heartbeat-1"))
        #expect(heartbeat.type == "worker-heartbeat")
        #expect(heartbeat.routingKey == "worker.heartbeat")
        #expect(heartbeat.channel(database: 0) == "/0.celeryev/worker.heartbeat")
        #expect(heartbeat.fields["freq"] == 2.0)
    }

    @Test func readsPythonsBatchedTaskEvents() throws {
        let events = try CeleryEvent.decodeAll(CeleryFixtures.bytes("events", "publish-task.multi-1"))
        #expect(!events.isEmpty)
        #expect(events.allSatisfy { $0.type.hasPrefix("task-") && $0.fields["uuid"] != nil })
    }

    @Test func workerSendsWorkerAndTaskEvents() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2, hostname: "events@test", taskEvents: true)) { harness in
            let seen = EventLog()
            let subscriber = try RedisSubscriber(try RedisConfiguration(url: harness.server.url(database: 0)))
            try await subscriber.psubscribe(["/0.celeryev/*"])
            let listening = Task {
                for await event in subscriber.events {
                    if case .message(let message) = event, let decoded = try? CeleryEvent.decodeAll(message.payload) {
                        seen.events.withLock { $0.append(contentsOf: decoded) }
                    }
                }
            }
            func types(of id: String) -> [String] {
                seen.events.withLock { $0.filter { $0.fields["uuid"]?.stringValue == id }.map(\.type) }
            }
            let added = try await harness.app.send("celeriac.examples.add", args: [2, 3])
            let failed = try await harness.app.send("celeriac.examples.fail", args: ["event boom"])
            #expect(await eventually { types(of: added.id) == ["task-received", "task-started", "task-succeeded"] })
            #expect(await eventually { types(of: failed.id) == ["task-received", "task-started", "task-failed"] })
            let succeeded = try #require(seen.events.withLock { $0.first { $0.type == "task-succeeded" } })
            #expect(succeeded.fields["result"] == "5")
            #expect(succeeded.hostname == "events@test")
            let received = try #require(seen.events.withLock { $0.first { $0.type == "task-received" && $0.fields["uuid"] == .string(added.id) } })
            #expect(received.fields["name"] == "celeriac.examples.add")
            let failure = try #require(seen.events.withLock { $0.first { $0.type == "task-failed" } })
            #expect(failure.fields["exception"] == "ValueError('event boom')")
            // A heartbeat every 2 s, with the worker's counters.
            #expect(await eventually(attempts: 1000) {
                seen.events.withLock { $0.contains { $0.type == "worker-heartbeat" && $0.fields["processed"] == 2 } }
            })
            // Clocks increase.
            let clocks = seen.events.withLock { $0.map(\.clock) }
            #expect(clocks == clocks.sorted())

            harness.worker.shutdown()
            #expect(await eventually(attempts: 1000) { seen.events.withLock { $0.contains { $0.type == "worker-offline" } } })
            subscriber.close()
            listening.cancel()
        }
    }

    @Test func remoteControlTurnsTaskEventsOn() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 1, hostname: "quiet@test")) { harness in
            let subscriber = try RedisSubscriber(try RedisConfiguration(url: harness.server.url(database: 0)))
            try await subscriber.psubscribe(["/0.celeryev/task.*"])
            let seen = EventLog()
            let listening = Task {
                for await event in subscriber.events {
                    if case .message(let message) = event, let decoded = try? CeleryEvent.decodeAll(message.payload) {
                        seen.events.withLock { $0.append(contentsOf: decoded) }
                    }
                }
            }
            _ = try await harness.app.send("celeriac.examples.add", args: [1, 1]).get(timeout: .seconds(30))
            try await Task.sleep(for: .milliseconds(300))
            #expect(seen.events.withLock { $0.count } == 0)

            #expect(try await eventually(attempts: 1000) {
                let reply = try await harness.redis.send("PUBSUB", "NUMSUB", "/0.celery.pidbox")
                return (reply.array?.last?.int ?? 0) >= 1
            })
            _ = try await harness.redis.publish("/0.celery.pidbox", ControlRequest(method: "enable_events").encoded())
            #expect(await eventually { harness.logs.contains("events.enabled") })
            _ = try await harness.app.send("celeriac.examples.add", args: [1, 1]).get(timeout: .seconds(30))
            #expect(await eventually { seen.events.withLock { $0.count } >= 3 })
            subscriber.close()
            listening.cancel()
        }
    }
}

/// Events a test's subscriber received.
final class EventLog: Sendable {
    let events = Mutex<[CeleryEvent]>([])
}
