import RESP
import RedisTestSupport
import Testing

@Suite struct AuthenticationTests {
    @Test func aclUserWithPassword() async throws {
        try await withRedisServer(extraArguments: ["--user", "alice", "on", ">wonderland", "~*", "&*", "+@all"]) { server in
            let redis = try await RedisConnection.connect(url: server.url(userInfo: "alice:wonderland"))
            #expect(try await redis.send("ACL", "WHOAMI") == .bulkString(Array("alice".utf8)))
        }
    }

    @Test func wrongPasswordIsAnAuthenticationError() async throws {
        try await withRedisServer(extraArguments: ["--user", "alice", "on", ">wonderland", "~*", "&*", "+@all"]) { server in
            let error = await #expect(throws: RedisClientError.self) {
                try await RedisConnection.connect(url: server.url(userInfo: "alice:looking-glass"))
            }
            #expect(error?.code == .authenticationFailed)
            #expect(error?.serverError?.code == "WRONGPASS")
            #expect(error?.message.contains("user 'alice'") == true)
            #expect(error?.message.contains("looking-glass") == false)
        }
    }

    @Test func requirePassword() async throws {
        try await withRedisServer(extraArguments: ["--requirepass", "s3cret"]) { server in
            let redis = try await RedisConnection.connect(url: server.url(userInfo: ":s3cret"))
            #expect(try await redis.ping() == "PONG")

            // No password: the server's NOAUTH arrives as a typed server error on the first command...
            let anonymous = try await RedisConnection.connect(url: server.url())
            let noauth = await #expect(throws: RedisServerError.self) { try await anonymous.ping() }
            #expect(noauth?.code == "NOAUTH")

            // ...or as an authentication error when the handshake needs to SELECT a database.
            let error = await #expect(throws: RedisClientError.self) {
                try await RedisConnection.connect(url: server.url(database: 1))
            }
            #expect(error?.code == .authenticationFailed)
            #expect(error?.message.contains("requires a password") == true)

            // The same when the handshake names the client (as `celeriac ping` does), not "refused client name".
            var named = try RedisConfiguration(url: server.url())
            named.clientName = "celeriac-ping"
            let namedError = await #expect(throws: RedisClientError.self) { try await RedisConnection.connect(named) }
            #expect(namedError?.code == .authenticationFailed)
            #expect(namedError?.message.contains("requires a password") == true)
        }
    }
}
