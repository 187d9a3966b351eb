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
}
