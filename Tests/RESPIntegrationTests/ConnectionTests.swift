import Foundation
import RESP
import RedisTestSupport
import Testing

/// One `RedisConnection` against a private redis-server: every reply kind, binary safety,
/// pipelines, transactions, scripts, server errors.
@Suite struct ConnectionTests {
    @Test func everyReplyKind() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            #expect(try await redis.send("SET", "k", "v") == .simpleString("OK"))
            #expect(try await redis.send("GET", "k") == .bulkString(Array("v".utf8)))
            #expect(try await redis.send("INCR", "n") == .integer(1))
            #expect(try await redis.send("GET", "missing") == .null)
            try await redis.send("RPUSH", "list", "a", "b")
            #expect(try await redis.send("LRANGE", "list", 0, -1) == .array([.bulkString([97]), .bulkString([98])]))
            let nested = try await redis.send("EVAL", "return {1, {'x', {2}}, 'y'}", 0)
            #expect(nested == .array([.integer(1), .array([.bulkString([120]), .array([.integer(2)])]), .bulkString([121])]))
            let error = await #expect(throws: RedisServerError.self) { try await redis.send("NOSUCHCOMMAND") }
            #expect(error?.code == "ERR")
            // A server error leaves the connection usable.
            #expect(try await redis.ping() == "PONG")
            #expect(await redis.isOpen)
        }
    }

    @Test func wrongTypeIsATypedServerError() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            try await redis.set("text", to: "value")
            let error = await #expect(throws: RedisServerError.self) { try await redis.lpush("text", ["x"]) }
            #expect(error?.code == "WRONGTYPE")
            #expect(error?.message.contains("wrong kind of value") == true)
        }
    }

    @Test func binarySafeKeysAndValues() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let key: [UInt8] = [0, 1, 0, 13, 10, 0]
            let value = [UInt8]((0...255).map(UInt8.init)) + [0, 0, 0]
            try await redis.set(key, to: value)
            #expect(try await redis.get(key) == value)
            #expect(try await redis.get([UInt8]([0, 1])) == nil)
        }
    }

    @Test func fiveMegabyteValue() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            var generator = SystemRandomNumberGenerator()
            let value = (0..<5 * 1024 * 1024).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try await redis.set("big", to: value)
            #expect(try await redis.send("STRLEN", "big") == .integer(value.count))
            #expect(try await redis.get("big") == value)
        }
    }

    @Test func tenThousandPipelinedCommandsKeepTheirOrder() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let commands = (0..<10_000).map { _ in RESPCommand("INCR", "counter") }
            let replies = try await redis.pipeline(commands)
            #expect(replies == (1...10_000).map { RESPValue.integer($0) })
        }
    }

    /// Commands that write themselves, in a pipeline many times ``RedisConnection/pipelineChunkSize``
    /// (written in chunks while it is encoded): every command arrives whole and in order, on a
    /// connection and through a pool, and the connection goes on working.
    @Test func streamedPipelinesOfSelfEncodingCommands() async throws {
        /// Says no length ahead, as a task message encoding itself.
        struct Payload: RESPArgument {
            let bytes: [UInt8]
            func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: bytes) }
        }
        struct Push: RESPCommandEncodable {
            let index: Int
            func write(to writer: inout RESPCommandWriter) {
                writer.beginCommand(argumentCount: 3)
                writer.writeArgument("RPUSH")
                writer.writeArgument("list")
                writer.writeArgument(Payload(bytes: Push.payload(index)))
            }
            static func payload(_ index: Int) -> [UInt8] {
                Array("\(index):".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: index % 3 == 0 ? 2_000 : 50)
            }
        }
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let pool = try RedisConnectionPool(url: server.url())
            let count = 600  // about 400 KiB: several chunks
            let pushes = (0..<count).map(Push.init)
            #expect(try await redis.pipeline(pushes) == (1...count).map { RESPValue.integer($0) })
            #expect(try await pool.pipeline(pushes) == (count + 1...2 * count).map { RESPValue.integer($0) })
            let stored = try await redis.send("LRANGE", "list", 0, -1)
            #expect(stored == .array((pushes + pushes).map { .bulkString(Push.payload($0.index)) }))
            #expect(try await redis.ping() == "PONG")
            await pool.close()
        }
    }

    @Test func pipelineReportsErrorsInPlace() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let replies = try await redis.pipeline([
                RESPCommand("SET", "s", "1"), RESPCommand("LPUSH", "s", "x"), RESPCommand("GET", "s"),
            ])
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[1].serverError?.code == "WRONGTYPE")
            #expect(replies[2] == .bulkString(Array("1".utf8)))
        }
    }

    @Test func transactions() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let results = try await redis.transaction([
                RESPCommand("SET", "a", "1"), RESPCommand("INCR", "a"), RESPCommand("LPUSH", "a", "x"),
            ])
            #expect(results[0] == .simpleString("OK"))
            #expect(results[1] == .integer(2))
            #expect(results[2].serverError?.code == "WRONGTYPE")

            // A command refused while queueing aborts the whole transaction.
            let abort = await #expect(throws: RedisServerError.self) {
                try await redis.transaction([RESPCommand("SET", "a", "3"), RESPCommand("NOSUCHCOMMAND")])
            }
            #expect(abort?.code == "EXECABORT")
            #expect(abort?.message.contains("unknown command 'NOSUCHCOMMAND'") == true)
            #expect(try await redis.getString("a") == "2")

            // WATCH + a concurrent change: EXEC returns nil, reported as transactionAborted.
            let other = try await RedisConnection.connect(url: server.url())
            try await redis.send("WATCH", "a")
            try await other.set("a", to: "changed")
            let aborted = await #expect(throws: RedisClientError.self) {
                try await redis.transaction([RESPCommand("SET", "a", "mine")])
            }
            #expect(aborted?.code == .transactionAborted)
            #expect(try await redis.getString("a") == "changed")
        }
    }

    @Test func luaScriptsFallBackToEvalOnNoscript() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            try await redis.send("SCRIPT", "FLUSH")
            #expect(try await redis.evalScript(script, keys: ["n"], arguments: [5]) == .integer(5))
            #expect(try await redis.send("SCRIPT", "EXISTS", script.sha1) == .array([.integer(1)]))
            #expect(try await redis.evalScript(script, keys: ["n"], arguments: [2]) == .integer(7))
            // EVAL ran once (the NOSCRIPT fallback); the second call went by SHA.
            let stats: String = try await redis.send("INFO", "commandstats").decode()
            #expect(stats.contains("cmdstat_eval:calls=1,"))
            #expect(stats.contains("cmdstat_evalsha:calls=2,"))
            let error = await #expect(throws: RedisServerError.self) {
                try await redis.evalScript(RedisScript("return redis.call('NOPE')"))
            }
            #expect(error?.message.contains("Unknown Redis command") == true)
        }
    }

    @Test func selectsTheDatabaseOfTheURL() async throws {
        try await withRedisServer { server in
            let db3 = try await RedisConnection.connect(url: server.url(database: 3))
            let db0 = try await RedisConnection.connect(url: server.url(database: 0))
            try await db3.set("where", to: "three")
            #expect(try await db0.getString("where") == nil)
            #expect(try await db3.getString("where") == "three")
        }
    }

    @Test func setsTheClientName() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url() + "?client_name=celeriac-test")
            #expect(try await redis.send("CLIENT", "GETNAME") == .bulkString(Array("celeriac-test".utf8)))
        }
    }

    @Test func connectsThroughAUnixSocket() async throws {
        try await withRedisServer(unixSocket: true) { server in
            let path = try #require(server.unixSocketPath)
            let redis = try await RedisConnection.connect(url: "unix://\(path)?db=2")
            try await redis.set("via", to: "socket")
            let tcp = try await RedisConnection.connect(url: server.url(database: 2))
            #expect(try await tcp.getString("via") == "socket")
        }
    }

    @Test func typedCommandHelpers() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            #expect(try await redis.set("k", to: "1", condition: .ifNotExists))
            #expect(try await !redis.set("k", to: "2", condition: .ifNotExists))
            #expect(try await redis.set("k", to: "3", expiration: .seconds(100)))
            let ttl = try #require(try await redis.timeToLive("k"))
            #expect(ttl > .seconds(90) && ttl <= .seconds(100))
            #expect(try await redis.increment("n", by: 5) == 5)
            #expect(try await redis.exists(["k", "n", "nope"]) == 2)
            #expect(try await redis.delete(["k", "n"]) == 2)

            #expect(try await redis.lpush("l", ["a", "b"]) == 2)
            #expect(try await redis.rpush("l", ["c"]) == 3)
            #expect(try await redis.lrange("l").map { String(decoding: $0, as: UTF8.self) } == ["b", "a", "c"])
            #expect(try await redis.lrem("l", count: 0, value: "a") == 1)
            #expect(try await redis.rpop("l") == Array("c".utf8))
            #expect(try await redis.llen("l") == 1)

            #expect(try await redis.hset("h", fields: [("f1", "v1"), ("f2", "v2")]) == 2)
            #expect(try await redis.hget("h", field: "f1") == Array("v1".utf8))
            #expect(try await redis.hgetall("h") == ["f1": Array("v1".utf8), "f2": Array("v2".utf8)])
            #expect(try await redis.hdel("h", fields: ["f1"]) == 1)

            #expect(try await redis.sadd("s", ["x", "y"]) == 2)
            #expect(try await redis.sismember("s", "x"))
            #expect(try await redis.srem("s", ["x"]) == 1)
            #expect(try await redis.smembers("s") == [Array("y".utf8)])

            #expect(try await redis.zadd("z", [(2.5, "b"), (1, "a"), (9, "c")]) == 3)
            #expect(try await redis.zscore("z", "b") == 2.5)
            #expect(try await redis.zcard("z") == 3)
            let low = try await redis.zrangeByScore("z", max: 3)
            #expect(low.map { String(decoding: $0.member, as: UTF8.self) } == ["a", "b"])
            #expect(low.map(\.score) == [1, 2.5])
            #expect(try await redis.zrem("z", ["a"]) == 1)
            #expect(try await redis.serverVersion().hasPrefix("7."))
        }
    }
}
