import RESP
import RedisTestSupport
import Synchronization
import Testing

@Suite struct PubSubTests {
    /// The next message event, skipping `.resubscribed`; fails the test after `timeout`.
    private func nextMessage(
        _ iterator: inout AsyncStream<RedisSubscriber.Event>.Iterator
    ) async -> RedisPubSubMessage? {
        while let event = await iterator.next() {
            if case .message(let message) = event { return message }
        }
        return nil
    }

    @Test func channelsAndPatterns() async throws {
        try await withRedisServer { server in
            let subscriber = try RedisSubscriber(try RedisConfiguration(url: server.url()))
            defer { subscriber.close() }
            try await subscriber.subscribe(["news", "weather"])
            try await subscriber.psubscribe(["celery-task-meta-*"])
            let publisher = try await RedisConnection.connect(url: server.url())
            var events = subscriber.events.makeAsyncIterator()

            #expect(try await publisher.publish("news", "extra!") == 1)
            let news = await nextMessage(&events)
            #expect(news == RedisPubSubMessage(channel: "news", pattern: nil, payload: Array("extra!".utf8)))

            let binary: [UInt8] = [0, 255, 10]
            try await publisher.publish("celery-task-meta-abc", binary)
            let meta = await nextMessage(&events)
            #expect(meta?.channel == "celery-task-meta-abc")
            #expect(meta?.pattern == "celery-task-meta-*")
            #expect(meta?.payload == binary)

            subscriber.unsubscribe(["news"])
            subscriber.punsubscribe(["celery-task-meta-*"])
            #expect(try await eventually { try await publisher.publish("news", "gone") == 0 })
            try await publisher.publish("weather", "sunny")
            // Nothing from the dropped subscriptions comes before the message on the kept one.
            #expect(await nextMessage(&events)?.text == "sunny")
        }
    }

    @Test func subscribeReturnsOnlyOnceTheSubscriptionIsActive() async throws {
        try await withRedisServer { server in
            let subscriber = try RedisSubscriber(try RedisConfiguration(url: server.url()))
            defer { subscriber.close() }
            let publisher = try await RedisConnection.connect(url: server.url())
            for round in 0..<20 {
                try await subscriber.subscribe(["round-\(round)"])
                // Published right after subscribe returns: Redis must already count the subscriber.
                #expect(try await publisher.publish("round-\(round)", "x") == 1)
            }
        }
    }

    @Test func resubscribesAfterTheServerRestarts() async throws {
        try await withRedisServer { server in
            let subscriber = try RedisSubscriber(
                try RedisConfiguration(url: server.url()), backoff: ReconnectBackoff(initial: .milliseconds(20)))
            defer { subscriber.close() }
            try await subscriber.subscribe(["jobs"])
            try await subscriber.psubscribe(["/0.celeryev/*"])
            var events = subscriber.events.makeAsyncIterator()

            await server.kill()
            try await server.restart()
            var sawResubscribed = false
            while let event = await events.next() {
                if event == .resubscribed {
                    sawResubscribed = true
                    break
                }
            }
            #expect(sawResubscribed)
            #expect(subscriber.isConnected)

            let publisher = try await RedisConnection.connect(url: server.url())
            #expect(try await publisher.publish("jobs", "after restart") == 1)
            #expect(await nextMessage(&events)?.text == "after restart")
            try await publisher.publish("/0.celeryev/worker.heartbeat", "beat")
            let event = await nextMessage(&events)
            #expect(event?.pattern == "/0.celeryev/*")
            #expect(event?.text == "beat")
        }
    }

    @Test func subscribeFailsWithATimeoutWhileRedisIsDown() async throws {
        let port = try RedisServerProcess.freePort()
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(port)/0")
        configuration.commandTimeout = .milliseconds(300)
        let subscriber = try RedisSubscriber(configuration)
        defer { subscriber.close() }
        let error = await #expect(throws: RedisClientError.self) { try await subscriber.subscribe(["x"]) }
        #expect(error?.code == .timeout)
        #expect(error?.message.contains("Connection refused") == true)
    }

    @Test func closeEndsTheEventStream() async throws {
        try await withRedisServer { server in
            let subscriber = try RedisSubscriber(try RedisConfiguration(url: server.url()))
            try await subscriber.subscribe(["c"])
            subscriber.close()
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == nil)
            let error = await #expect(throws: RedisClientError.self) { try await subscriber.subscribe(["d"]) }
            #expect(error?.code == .closed)
        }
    }

    @Test func aHandlerGetsEveryEventOnTheSubscribersThread() async throws {
        try await withRedisServer { server in
            let received = Mutex<[RedisSubscriber.Event]>([])
            let subscriber = try RedisSubscriber(try RedisConfiguration(url: server.url())) { event in
                received.withLock { $0.append(event) }
            }
            try await subscriber.subscribe(["jobs"])
            try await subscriber.psubscribe(["meta-*"])
            let publisher = try await RedisConnection.connect(url: server.url())
            try await publisher.publish("jobs", "one")
            try await publisher.publish("meta-7", "two")
            let expected: [RedisSubscriber.Event] = [
                .message(RedisPubSubMessage(channel: "jobs", pattern: nil, payload: Array("one".utf8))),
                .message(RedisPubSubMessage(channel: "meta-7", pattern: "meta-*", payload: Array("two".utf8))),
            ]
            #expect(try await eventually { received.withLock { $0 } == expected })

            // After a restart: subscribed again, announced, and messages keep coming.
            try await server.restart()
            #expect(try await eventually { received.withLock { $0.count } == 3 })
            #expect(received.withLock { $0.last } == .resubscribed)
            let again = try await RedisConnection.connect(url: server.url())
            try await again.publish("jobs", "three")
            #expect(try await eventually { received.withLock { $0.count } == 4 })
            await publisher.close()
            await again.close()

            // The stream is not used, and ends at close.
            subscriber.close()
            var events = subscriber.events.makeAsyncIterator()
            #expect(await events.next() == nil)
        }
    }

    /// Redis up but not answering (all clients paused): the subscription fails with its timeout
    /// (the subscriber's thread watches the deadline), and works again afterwards.
    @Test func subscribeTimesOutWhileRedisDoesNotAnswer() async throws {
        try await withRedisServer { server in
            var configuration = try RedisConfiguration(url: server.url())
            configuration.commandTimeout = .milliseconds(300)
            let subscriber = try RedisSubscriber(configuration)
            defer { subscriber.close() }
            try await subscriber.subscribe(["warm"])
            let admin = try await RedisConnection.connect(url: server.url())
            // Long enough that a loaded machine (the suite runs in parallel) still sees the
            // 300 ms timeout pass well inside it.
            try await admin.send(RESPCommand("CLIENT", "PAUSE", 4500, "ALL"))
            let error = await #expect(throws: RedisClientError.self) { try await subscriber.subscribe(["paused"]) }
            #expect(error?.code == .timeout)
            #expect(error?.message.contains("did not confirm the subscription within") == true)
            // Paused itself, this answers when the pause is over (UNPAUSE would wait too).
            _ = try await admin.ping()
            try await subscriber.subscribe(["later"])
            #expect(try await admin.publish("later", "hello") == 1)
            #expect(try await admin.publish("paused", "dropped") == 0)
            await admin.close()
        }
    }
}
