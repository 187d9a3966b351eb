import Foundation
import RESP
import RedisTestSupport
import Testing

/// Peers that are not Redis and mean harm: each gets a clear error within the timeout, and the
/// client's memory stays bounded (the reply limits refuse a header before hiredis reserves for it).
@Suite struct HostileServerTests {
    private func error(
        from reply: [UInt8], closeAfterReply: Bool = true, byteInterval: Duration? = nil, query: String = "",
        limits: RESPReplyLimits = .standard
    ) async throws -> (RedisClientError?, Duration, String) {
        let peer = try ScriptedTCPServer(reply: reply, closeAfterReply: closeAfterReply, byteInterval: byteInterval)
        defer { peer.stop() }
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(peer.port)/0\(query)")
        configuration.replyLimits = limits
        let redis = try await RedisConnection.connect(configuration)
        let started = ContinuousClock.now
        let error = await #expect(throws: RedisClientError.self) { try await redis.ping() }
        await redis.close()
        return (error, ContinuousClock.now - started, peer.log)
    }

    /// One byte every 100 ms of a reply that never ends: before, each byte restarted the per-read
    /// timeout and `ping --timeout 3` hung for ever. Now the timeout bounds the whole reply.
    @Test func aTricklingServerTimesOutAtTheDeadline() async throws {
        let endless = Array("$100000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 100_000)
        let (error, elapsed, log) = try await error(from: endless, byteInterval: .milliseconds(100), query: "?timeout=0.5")
        #expect(error?.code == .timeout, "\(error?.message ?? "-"); peer: \(log)")
        // Not a speed figure: the bound a timeout of 0.5 s must keep, with room for a loaded machine.
        #expect(elapsed < .seconds(10))
    }

    @Test func anOversizedBulkIsRefusedBeforeItIsRead() async throws {
        let limits = RESPReplyLimits(maximumBulkLength: 1024 * 1024)
        let (error, _, _) = try await error(from: Array("$600000000\r\nabc".utf8), limits: limits)
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("600000000") == true, "\(error?.message ?? "-")")
    }

    @Test func aHugeArrayHeaderIsRefused() async throws {
        let (error, _, _) = try await error(from: Array("*2147483647\r\n".utf8))
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("array elements") == true, "\(error?.message ?? "-")")
    }

    @Test func manyElementsOverNestedArraysAreCounted() async throws {
        let limits = RESPReplyLimits(maximumElements: 1000)
        let reply = Array("*2\r\n*600\r\n".utf8) + Array(String(repeating: ":1\r\n", count: 600).utf8) + Array("*600\r\n".utf8)
        let (error, _, _) = try await error(from: reply, limits: limits)
        #expect(error?.code == .protocolError)
    }

    @Test func deepNestingIsRefused() async throws {
        let (error, _, _) = try await error(from: Array(String(repeating: "*1\r\n", count: 100).utf8))
        #expect(error?.code == .protocolError)
        #expect(error?.message.contains("deeper") == true)
    }

    /// A 1 MB error line (Redis' own are short): refused, and the message stays short.
    @Test func anEndlessErrorLineIsRefusedAndNotPrinted() async throws {
        let reply = Array("-ERR ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 1_000_000)
        let (error, _, _) = try await error(from: reply, closeAfterReply: false, query: "?timeout=5")
        #expect(error?.code == .protocolError)
        #expect((error?.message.count ?? .max) < 500)
    }

    /// Within the limits, a reply from a slow peer is read whole.
    @Test func aSlowButWholeReplyIsRead() async throws {
        let peer = try ScriptedTCPServer(reply: Array("+PONG\r\n".utf8), byteInterval: .milliseconds(20))
        defer { peer.stop() }
        let redis = try await RedisConnection.connect(url: "redis://127.0.0.1:\(peer.port)/0?timeout=5")
        try await redis.ping()
        await redis.close()
    }
}

