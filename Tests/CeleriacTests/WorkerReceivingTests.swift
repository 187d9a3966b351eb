@testable import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Synchronization
import Testing

/// Which messages a worker may hand to an idle runner without kombu's unacked bookkeeping.
@Suite struct WorkerReceivingTests {
    @Test func onlyMessagesAckedTheMomentTheyStartSkipTheRecord() throws {
        let app = try CeleriacApp(brokerURL: "redis://127.0.0.1:1/0")
        let registry = TaskRegistry()
        try registry.register("plain") { _, _, _ in .null }
        try registry.register("late", settings: TaskSettings(acksLate: true)) { _, _, _ in .null }
        try registry.register("limited", settings: TaskSettings(rateLimit: try RateLimit(parsing: "10/s"))) { _, _, _ in .null }
        try registry.register("early", settings: TaskSettings(acksLate: false)) { _, _, _ in .null }
        let worker = Worker(app: app, registry: registry, configuration: WorkerConfiguration(concurrency: 1))
        let lateWorker = Worker(app: app, registry: registry, configuration: WorkerConfiguration(concurrency: 1, acksLate: true))
        let now = Date()

        #expect(worker.isAckedOnArrival(app.message("plain"), now: now))
        #expect(!worker.isAckedOnArrival(app.message("late"), now: now))
        #expect(!worker.isAckedOnArrival(app.message("limited"), now: now))
        #expect(!worker.isAckedOnArrival(app.message("unknown"), now: now))
        // The worker's acks-late setting applies unless the task says otherwise.
        #expect(!lateWorker.isAckedOnArrival(app.message("plain"), now: now))
        #expect(lateWorker.isAckedOnArrival(app.message("early"), now: now))
        // Due later, or expired: held or revoked, not run at once.
        #expect(!worker.isAckedOnArrival(app.message("plain", options: TaskOptions(eta: now + 5)), now: now))
        #expect(worker.isAckedOnArrival(app.message("plain", options: TaskOptions(eta: now - 5)), now: now))
        #expect(!worker.isAckedOnArrival(app.message("plain", options: TaskOptions(expires: .at(now - 5))), now: now))
        #expect(worker.isAckedOnArrival(app.message("plain", options: TaskOptions(expires: .at(now + 60))), now: now))
        // Revoked.
        let revoked = app.message("plain")
        worker.state.withLock { $0.revoked.insert([revoked.id]) }
        #expect(!worker.isAckedOnArrival(revoked, now: now))
    }

    /// Redis' keyspace notifications show every write to `unacked`: an early-ack task that BRPOP
    /// hands to an idle runner causes none, an acks-late one is recorded (and acked) as kombu does.
    @Test func anIdleWorkerRunsEarlyAckTasksWithoutRecordingThem() async throws {
        let register: (TaskRegistry) throws -> Void = { registry in
            try registry.register("late.noop", settings: TaskSettings(acksLate: true)) { _, _, _ in .null }
        }
        // No mingle: its control client's BRPOP would look like the fetch loop's.
        try await withWorker(WorkerConfiguration(concurrency: 2, mingle: false), register: register) { harness in
            _ = try await harness.redis.send(RESPCommand("CONFIG", "SET", "notify-keyspace-events", "Kh"))
            let writes = Mutex<[String]>([])
            let subscriber = try RedisSubscriber(try RedisConfiguration(url: harness.server.url(database: 0))) { event in
                if case .message(let message) = event { writes.withLock { $0.append(message.text) } }
            }
            defer { subscriber.close() }
            try await subscriber.subscribe(["__keyspace@0__:unacked"])

            /// Waits until the worker's fetch loop blocks in BRPOP (its queues are empty).
            func waitForBRPOP() async throws {
                #expect(try await eventually {
                    (try await harness.redis.send(RESPCommand("CLIENT", "LIST")).string ?? "").contains("cmd=brpop")
                })
            }
            for _ in 0..<3 {
                try await waitForBRPOP()
                #expect(try await harness.app.send("celeriac.examples.noop").get(timeout: .seconds(10)) == .null)
            }
            try await waitForBRPOP()
            #expect(try await harness.app.send("late.noop").get(timeout: .seconds(10)) == .null)
            // The acks-late task's record and ack show that notifications arrive at all.
            let seen = await eventually { writes.withLock { $0 } == ["hset", "hdel"] }
            #expect(seen, "writes to unacked: \(writes.withLock { $0 })")
            #expect(try await harness.redis.send(RESPCommand("HLEN", "unacked")).int == 0)
        }
    }
}
