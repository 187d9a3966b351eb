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

    /// The fetch connection's limit follows the maximum message size, without wrapping round.
    @Test func theFetchReplyLimitFollowsTheMaximumMessageSize() {
        var configuration = WorkerConfiguration(concurrency: 1)
        configuration.maximumMessageSize = 4096
        #expect(configuration.effectiveFetchReplyLimits.maximumBulkLength == 4096 + 64 * 1024)
        configuration.maximumMessageSize = .max
        #expect(configuration.effectiveFetchReplyLimits.maximumBulkLength == .max)
        configuration.fetchReplyLimits = RESPReplyLimits(maximumBulkLength: 10)
        #expect(configuration.effectiveFetchReplyLimits.maximumBulkLength == 10)
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

    /// The fetch script checks sizes in Redis: an oversized message is dead-lettered there and
    /// never sent to the worker (its id and name read from the plain headers), and popping stops
    /// at the byte budget, with the rest of the batch back in its list in order.
    @Test func theFetchScriptDeadLettersOversizedMessagesAndKeepsTheByteBudget() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let redis = try await RedisConnection.connect(url: server.url())
            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "test@host")
            let big = app.message("celeriac.examples.add", args: [.string(String(repeating: "x", count: 20_000)), 1])
            let small = (0..<5).map { app.message("celeriac.examples.add", args: [.integer($0), 1]) }
            try await app.sendMany([small[0], big] + small[1...])

            let first = try await consumer.fetch(from: ["celery"], limit: 10, maximumSize: 10_000, byteBudget: 1)
            #expect(first.count == 1 && first[0].deliveryTag == small[0].deliveryTag)
            let second = try await consumer.fetch(
                from: ["celery"], limit: 10, maximumSize: 10_000, byteBudget: small[1].encoded().count * 2 + 1)
            #expect(second.count == 4)
            #expect(second[0].isTooLarge && second[0].raw.isEmpty && second[0].deliveryTag == nil)
            #expect(second[0].taskID == big.id && second[0].taskName == "celeriac.examples.add")
            #expect(second[0].deadLetterReason?.contains("more than the maximum of 10000") == true)
            #expect(second[1...].map(\.deliveryTag) == small[1...3].map(\.deliveryTag))
            #expect(try await redis.llen("celery") == 1)
            let third = try await consumer.fetch(from: ["celery"], limit: 10, maximumSize: 10_000)
            #expect(third.map(\.deliveryTag) == [small[4].deliveryTag])

            let entries = try await redis.lrange("celeriac.dead").map { try DeadLetterEntry(decoding: $0) }
            #expect(entries.count == 1)
            #expect(entries.first?.taskID == big.id)
            #expect(entries.first?.message == big.encoded())
            #expect(try await redis.hgetall("unacked").count == 5)
        }
    }

    /// A worker whose fetch connection takes no reply larger than a few KiB still serves a queue
    /// that holds larger messages: they never leave Redis, and each gets its FAILURE.
    @Test func aWorkerWithSmallFetchReplyLimitsDeadLettersLargeMessagesFromTheFetch() async throws {
        var configuration = WorkerConfiguration(concurrency: 2)
        configuration.maximumMessageSize = 4096
        configuration.fetchReplyLimits = RESPReplyLimits(maximumBulkLength: 8192)
        try await withWorker(configuration) { harness in
            let big = (0..<6).map { _ in
                harness.app.message("celeriac.examples.add", args: [.string(String(repeating: "x", count: 10_000)), 1])
            }
            try await harness.redis.lpush("celery", big.map { $0.encoded() as any RESPArgument })
            for message in big {
                let failure = await #expect(throws: TaskFailure.self) {
                    try await harness.app.asyncResult(message.id).get(timeout: .seconds(10))
                }
                #expect(failure?.type == "MessageTooLarge")
            }
            #expect(try await harness.redis.llen("celeriac.dead") == 6)
            #expect(try await harness.app.send("celeriac.examples.add", args: [1, 2]).get(timeout: .seconds(10)) == 3)
            #expect(!harness.logs.all.contains { $0.contains("redis.unreachable") })
        }
    }
}
