import RESP
import RedisTestSupport
import Testing

/// `SynchronousRedisConnection`: commands on the calling thread, against a real redis-server.
@Suite struct SynchronousConnectionTests {
    @Test func commandsAndScriptsRunOnTheCallingThread() async throws {
        try await withRedisServer { server in
            let connection = try SynchronousRedisConnection.connect(try RedisConfiguration(url: server.url(database: 3)))
            defer { connection.close() }
            #expect(try connection.send(RESPCommand("SET", "key", "value")).string == "OK")
            #expect(try connection.send(RESPCommand("GET", "key")).string == "value")
            // The configured database was selected.
            let observer = try await RedisConnection.connect(url: server.url(database: 3))
            #expect(try await observer.send("GET", "key").string == "value")

            // A script the server does not know yet is sent in full once, then called by hash.
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            try await observer.send("SCRIPT", "FLUSH")
            #expect(try connection.evalScript(script, keys: ["counter"], arguments: [5]).int == 5)
            #expect(try connection.evalScript(script, keys: ["counter"], arguments: [2]).int == 7)
            #expect(try await observer.send("SCRIPT", "EXISTS", script.sha1).array?.first?.int == 1)

            // A server error is thrown and leaves the connection usable.
            #expect(throws: RedisServerError.self) { try connection.send(RESPCommand("INCR", "key")) }
            #expect(connection.isOpen)
            #expect(try connection.send(RESPCommand("PING")).string == "PONG")
            await observer.close()
        }
    }

    @Test func aLostConnectionClosesItAndLaterCommandsFailAtOnce() async throws {
        try await withRedisServer { server in
            let connection = try SynchronousRedisConnection.connect(try RedisConfiguration(url: server.url()))
            let admin = try await RedisConnection.connect(url: server.url())
            try await admin.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            #expect(throws: RedisClientError.self) { try connection.send(RESPCommand("PING")) }
            #expect(!connection.isOpen)
            let error = #expect(throws: RedisClientError.self) { try connection.send(RESPCommand("PING")) }
            #expect(error?.code == .connectionClosed)

            let other = try SynchronousRedisConnection.connect(try RedisConfiguration(url: server.url()))
            other.close()
            #expect(!other.isOpen)
            #expect(throws: RedisClientError.self) { try other.send(RESPCommand("PING")) }
            await admin.close()
        }
    }

    @Test func connectingToNothingFailsWithAClearError() throws {
        let port = try RefusingPort()
        let error = #expect(throws: RedisClientError.self) {
            try SynchronousRedisConnection.connect(try RedisConfiguration(url: "redis://127.0.0.1:\(port.port)"))
        }
        #expect(error?.code == .connectionFailed)
    }
}
