@testable import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// The maximum message size (producer and worker) and the prefetch window's byte budget.
@Suite struct MessageSizeTests {
    private func delivery(bytes: Int) -> Delivery {
        let message = TaskMessage(task: "t", origin: "o", replyTo: "r")
        return Delivery(message: message, raw: [UInt8](repeating: 32, count: bytes), deliveryTag: CeleryID.random(), queue: "celery")
    }

    /// Room for a fetch only while at most half the budget waits; taking messages makes room.
    @Test func thePrefetchWindowKeepsItsByteBudget() async {
        let reserved = ReservedMessages()
        reserved.put([delivery(bytes: 600), delivery(bytes: 600)])
        let fetcher = Task { await reserved.waitForRoom(limit: 100, budget: 2000) }
        try? await Task.sleep(for: .milliseconds(100))
        _ = reserved.nextIfWaiting()  // 600 bytes left: at most half of 2000
        #expect(await fetcher.value == 99)
        #expect(await reserved.waitForRoom(limit: 100, budget: .max) == 99)
    }

    @Test func theMinimumSizeCountsTheArguments() {
        let message = TaskMessage(task: "t", args: [.string(String(repeating: "x", count: 5000))], kwargs: ["k": [1, 2]], origin: "o", replyTo: "r")
        #expect(message.minimumEncodedSize() >= 5000)
        #expect(message.minimumEncodedSize() <= message.encoded().count)
        #expect(message.minimumEncodedSize(stoppingAfter: 10) > 10)
    }

    @Test func producerRefusesAndWorkerDeadLettersOversizedMessages() async throws {
        var configuration = WorkerConfiguration(concurrency: 2)
        configuration.maximumMessageSize = 4096
        try await withWorker(configuration) { harness in
            let big = JSONValue.string(String(repeating: "x", count: 10_000))
            let broker = RedisBroker(pool: harness.app.broker.pool, maximumMessageSize: 4096)
            let refused = await #expect(throws: CeleriacError.self) {
                try await broker.publish(harness.app.message("celeriac.examples.add", args: [big, 1]))
            }
            #expect(refused?.code == .messageTooLarge)
            #expect(try await harness.redis.llen("celery") == 0)

            // A producer with a larger limit (a Python one has none): the worker refuses it unread.
            let message = harness.app.message("celeriac.examples.add", args: [big, 1])
            try await harness.redis.lpush("celery", [message.encoded()])
            #expect(try await eventually { try await harness.redis.llen("celeriac.dead") == 1 })
            let entry = try await harness.redis.lrange("celeriac.dead").map { try DeadLetterEntry(decoding: $0) }.first
            #expect(entry?.reason.contains("more than the maximum of 4096") == true)
            #expect(entry?.taskID == message.id)
            let failure = await #expect(throws: TaskFailure.self) {
                try await harness.app.asyncResult(message.id).get(timeout: .seconds(10))
            }
            #expect(failure?.type == "MessageTooLarge")
            #expect(try await harness.app.send("celeriac.examples.add", args: [1, 2]).get(timeout: .seconds(10)) == 3)
        }
    }
}
