import RESP
import RedisTestSupport
import Synchronization
import Testing

/// Blocking commands on connections of their own: timeouts, wake-ups, cancellation, and proof that
/// waiting does not occupy Swift's cooperative threads.
@Suite struct BlockingCommandTests {
    @Test func brpopTimesOutWithNil() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let clock = ContinuousClock()
            var result: (key: [UInt8], value: [UInt8])?
            let waited = try await clock.measure {
                result = try await redis.brpop(["empty"], timeout: .milliseconds(300))
            }
            #expect(result == nil)
            #expect(waited >= .milliseconds(250))
            // The connection is still usable after the timeout.
            #expect(try await redis.ping() == "PONG")
        }
    }

    @Test func brpopWakesUpOnPush() async throws {
        try await withRedisServer { server in
            let waiter = try await RedisConnection.connect(url: server.url())
            let pusher = try await RedisConnection.connect(url: server.url())
            let popped = Task { try await waiter.brpop(["q1", "q2"], timeout: .seconds(20)) }
            #expect(try await waitForBlockedClients(observer: pusher))
            try await pusher.lpush("q2", ["hello"])
            let result = try #require(try await popped.value)
            #expect(String(decoding: result.key, as: UTF8.self) == "q2")
            #expect(String(decoding: result.value, as: UTF8.self) == "hello")
        }
    }

    @Test func blmoveAndBzpopmin() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            try await redis.rpush("source", ["a", "b"])
            #expect(try await redis.blmove(from: "source", to: "destination", timeout: .seconds(1)) == Array("b".utf8))
            #expect(try await redis.lrange("destination") == [Array("b".utf8)])
            #expect(try await redis.blmove(from: "nothing", to: "destination", timeout: .milliseconds(100)) == nil)

            try await redis.zadd("due", [(5, "later"), (1, "sooner")])
            let first = try #require(try await redis.bzpopmin(["due"], timeout: .seconds(1)))
            #expect(String(decoding: first.member, as: UTF8.self) == "sooner")
            #expect(first.score == 1)
            #expect(try await redis.bzpopmin(["none"], timeout: .milliseconds(100)) == nil)
        }
    }

    @Test func cancellationInterruptsTheWait() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let task = Task { try await redis.brpop(["never"], timeout: .seconds(60)) }
            let observer = try await RedisConnection.connect(url: server.url())
            #expect(try await waitForBlockedClients(observer: observer))
            task.cancel()
            // Returns long before the 60 s timeout; the interrupted connection is closed.
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(await !redis.isOpen)
            let error = await #expect(throws: RedisClientError.self) { try await redis.ping() }
            #expect(error?.code == .connectionClosed)
        }
    }

    /// Sixteen connections blocked in BRPOP at once, more than this machine has cooperative threads:
    /// if the blocking reads ran on the cooperative pool, the PINGs below could not run until a
    /// BRPOP returned, and no BRPOP returns until the pushes after the PINGs.
    @Test func blockedConnectionsDoNotStarveOtherWork() async throws {
        try await withRedisServer { server in
            let blockers = 16
            let pusher = try await RedisConnection.connect(url: server.url())
            let finished = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<blockers {
                    group.addTask {
                        let connection = try await RedisConnection.connect(url: server.url())
                        let popped = try await connection.brpop(["starve-\(index)"], timeout: .seconds(30))
                        #expect(popped != nil)
                        finished.value.add(1, ordering: .relaxed)
                    }
                }
                #expect(try await waitForBlockedClients(blockers, observer: pusher))
                for _ in 0..<100 { #expect(try await pusher.ping() == "PONG") }
                #expect(finished.value.load(ordering: .relaxed) == 0)
                for index in 0..<blockers { try await pusher.lpush("starve-\(index)", ["go"]) }
                try await group.waitForAll()
            }
            #expect(finished.value.load(ordering: .relaxed) == blockers)
        }
    }
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
