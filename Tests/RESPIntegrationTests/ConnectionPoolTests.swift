import RESP
import RedisTestSupport
import Testing

@Suite struct ConnectionPoolTests {
    @Test func concurrentCallersShareABoundedPool() async throws {
        try await withRedisServer { server in
            // A long acquire timeout: 50 callers share 4 connections, slowly on a loaded machine.
            let pool = try RedisConnectionPool(
                url: server.url(), configuration: .init(maximumConnections: 4, acquireTimeout: .seconds(60)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        for _ in 0..<100 { try await pool.increment("counter") }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await pool.getString("counter") == "5000")
            #expect(pool.connectionCount <= 4)
            let clients = try await pool.send("CLIENT", "LIST").string ?? ""
            #expect(clients.split(separator: "\n").count <= 4)
            await pool.close()
        }
    }

    @Test func brokenConnectionsAreDiscarded() async throws {
        try await withRedisServer { server in
            let pool = try RedisConnectionPool(url: server.url(), configuration: .init(maximumConnections: 3))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 { group.addTask { try await pool.withConnection { _ = try await $0.ping() } } }
                try await group.waitForAll()
            }
            // Another client kills every pool connection while they sit idle.
            let admin = try await RedisConnection.connect(url: server.url() + "?client_name=admin")
            try await admin.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            // The pool notices the closed sockets and hands out fresh connections.
            for _ in 0..<10 { #expect(try await pool.ping() == "PONG") }
            await pool.close()
        }
    }

    @Test func waitersGetAConnectionWhenOneIsReturned() async throws {
        try await withRedisServer { server in
            // A generous acquire timeout: twenty callers queue for one connection on a busy machine.
            let pool = try RedisConnectionPool(
                url: server.url(), configuration: .init(maximumConnections: 1, acquireTimeout: .seconds(60)))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask { try await pool.lpush("order", [index]) }
                }
                try await group.waitForAll()
            }
            #expect(try await pool.llen("order") == 20)
            #expect(pool.connectionCount == 1)
        }
    }

    @Test func exhaustedPoolFailsAfterTheAcquireTimeout() async throws {
        try await withRedisServer { server in
            let pool = try RedisConnectionPool(
                url: server.url(), configuration: .init(maximumConnections: 1, acquireTimeout: .milliseconds(200)))
            let holder = try await RedisConnection.connect(url: server.url())
            try await holder.send("DEL", "gate")
            try await pool.withConnection { connection in
                let error = await #expect(throws: RedisClientError.self) { try await pool.ping() }
                #expect(error?.code == .poolExhausted)
                _ = try await connection.ping()
            }
            #expect(try await pool.ping() == "PONG")
        }
    }

    @Test func closedPoolRefusesWork() async throws {
        try await withRedisServer { server in
            let pool = try RedisConnectionPool(url: server.url())
            _ = try await pool.ping()
            await pool.close()
            let error = await #expect(throws: RedisClientError.self) { try await pool.ping() }
            #expect(error?.code == .closed)
        }
    }

    @Test func scriptsThroughThePool() async throws {
        try await withRedisServer { server in
            let pool = try RedisConnectionPool(url: server.url())
            let script = RedisScript("return ARGV[1] .. KEYS[1]")
            #expect(try await pool.evalScript(script, keys: ["k"], arguments: ["v"]).string == "vk")
            let results = try await pool.transaction([RESPCommand("INCR", "t"), RESPCommand("INCR", "t")])
            #expect(results == [.integer(1), .integer(2)])
        }
    }
}
