import Foundation
import RESP
import RedisTestSupport
import Testing

/// Redis down, killed, restarted, and peers that are not Redis: typed errors, no hang beyond the
/// timeouts, no crash, and recovery once Redis is back.
@Suite struct FaultTests {
    @Test func connectionRefusedIsATypedError() async throws {
        let port = try RedisServerProcess.freePort()
        let error = await #expect(throws: RedisClientError.self) {
            try await RedisConnection.connect(url: "redis://127.0.0.1:\(port)/0")
        }
        #expect(error?.code == .connectionFailed)
        #expect(error?.message.contains("Connection refused") == true)
        #expect(error?.isConnectionError == true)
    }

    @Test func missingUnixSocketIsATypedError() async throws {
        let error = await #expect(throws: RedisClientError.self) {
            try await RedisConnection.connect(url: "unix:///nonexistent/celeriac/redis.sock")
        }
        #expect(error?.code == .connectionFailed)
    }

    @Test func commandTimeoutClosesTheConnection() async throws {
        try await withRedisServer { server in
            let admin = try await RedisConnection.connect(url: server.url())
            let redis = try await RedisConnection.connect(url: server.url() + "?timeout=0.3")
            // CLIENT PAUSE holds every client's commands (the admin's too) for 10 s, long enough
            // even on a machine busy with other tests; ours times out at 0.3 s.
            try await admin.send("CLIENT", "PAUSE", 10_000, "ALL")
            let error = await #expect(throws: RedisClientError.self) { try await redis.ping() }
            #expect(error?.code == .timeout)
            // A late reply must never be taken for the next command's: the connection is closed.
            let closed = await #expect(throws: RedisClientError.self) { try await redis.ping() }
            #expect(closed?.code == .connectionClosed)
        }
    }

    @Test func serverKilledWhileAReplyIsAwaited() async throws {
        try await withRedisServer { server in
            let redis = try await RedisConnection.connect(url: server.url())
            let popped = Task { try await redis.brpop(["never"], timeout: .seconds(60)) }
            let observer = try await RedisConnection.connect(url: server.url())
            #expect(try await waitForBlockedClients(observer: observer))
            await server.kill()
            // Fails with a typed error at once, not after the 60 s BRPOP timeout.
            let error = await #expect(throws: RedisClientError.self) { try await popped.value }
            #expect(error?.code == .connectionClosed)
            // Every later command on the dead connection fails fast the same way.
            let again = await #expect(throws: RedisClientError.self) { try await redis.ping() }
            #expect(again?.code == .connectionClosed)
        }
    }

    @Test func truncatedReplyIsATypedError() async throws {
        // A peer that starts a 100-byte bulk string, sends 3 bytes, and hangs up: killed mid-reply.
        let peer = try ScriptedTCPServer(reply: Array("$100\r\nabc".utf8))
        defer { peer.stop() }
        let redis = try await RedisConnection.connect(url: "redis://127.0.0.1:\(peer.port)/0")
        let error = await #expect(throws: RedisClientError.self) { try await redis.ping() }
        #expect(error?.code == .connectionClosed, "\(error?.message ?? ""); peer: \(peer.log)")
    }

    @Test func garbageIsAProtocolError() async throws {
        let peer = try ScriptedTCPServer(reply: Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8))
        defer { peer.stop() }
        let redis = try await RedisConnection.connect(url: "redis://127.0.0.1:\(peer.port)/0")
        let error = await #expect(throws: RedisClientError.self) { try await redis.ping() }
        #expect(error?.code == .protocolError)
    }

    @Test func silentPeerTimesOut() async throws {
        let peer = try ScriptedTCPServer(reply: [], closeAfterReply: false)
        defer { peer.stop() }
        let redis = try await RedisConnection.connect(url: "redis://127.0.0.1:\(peer.port)/0?timeout=0.2")
        let error = await #expect(throws: RedisClientError.self) { try await redis.ping() }
        #expect(error?.code == .timeout)
    }

    @Test func poolFailsWithinItsTimeoutWhileRedisIsDown() async throws {
        let port = try RedisServerProcess.freePort()
        let pool = try RedisConnectionPool(
            url: "redis://127.0.0.1:\(port)/0",
            configuration: .init(acquireTimeout: .milliseconds(400), backoff: .init(initial: .milliseconds(20))))
        let error = await #expect(throws: RedisClientError.self) { try await pool.ping() }
        #expect(error?.code == .connectionFailed)
    }

    /// SIGKILL the server under a pool in use: typed errors first, then, once it is restarted on
    /// the same port, the same pool works again.
    @Test func poolRecoversAfterTheServerIsKilledAndRestarted() async throws {
        try await withRedisServer { server in
            let pool = try RedisConnectionPool(
                url: server.url(),
                configuration: .init(maximumConnections: 4, acquireTimeout: .seconds(1), backoff: .init(initial: .milliseconds(20))))
            for _ in 0..<20 { try await pool.increment("before") }

            await server.kill()
            var typedFailures = 0
            for _ in 0..<5 {
                do {
                    _ = try await pool.ping()
                } catch let error as RedisClientError {
                    #expect(error.isConnectionError)
                    typedFailures += 1
                }
            }
            #expect(typedFailures == 5)

            try await server.restart()
            #expect(await eventually {
                (try? await pool.ping()) == "PONG"
            })
            for _ in 0..<20 { try await pool.increment("after") }
            #expect(try await pool.getString("after") == "20")
        }
    }

    /// Commands keep flowing from several tasks while the server is killed and restarted: every
    /// failure is a typed connection error, and everything after the restart succeeds.
    @Test func killedMidUseUnderLoad() async throws {
        try await withRedisServer { server in
            let pool = try RedisConnectionPool(
                url: server.url(),
                configuration: .init(maximumConnections: 4, acquireTimeout: .seconds(2), backoff: .init(initial: .milliseconds(20))))
            let value = [UInt8](repeating: 7, count: 256 * 1024)
            try await pool.set("big", to: value)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var unexpected = 0
                        for _ in 0..<200 {
                            do {
                                _ = try await pool.get("big")
                            } catch let error as RedisClientError where error.isConnectionError {
                                // expected while the server is down
                            } catch {
                                unexpected += 1
                            }
                        }
                        return unexpected
                    }
                }
                try await Task.sleep(for: .milliseconds(50))
                await server.kill()
                try await Task.sleep(for: .milliseconds(100))
                try await server.restart()
                for try await unexpected in group { #expect(unexpected == 0) }
            }
            #expect(await eventually { (try? await pool.ping()) == "PONG" })
            try await pool.set("big", to: value)
            #expect(try await pool.get("big") == value)
        }
    }
}
