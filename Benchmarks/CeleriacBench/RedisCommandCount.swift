import Foundation
import RESP
import RedisTestSupport

/// Redis' own count of the commands it ran, by command (`INFO commandstats`), those run inside
/// scripts included: the drains' commands per task are read from it, not from what a worker says.
struct RedisCommandCount {
    /// Calls by command name (`get`, `evalsha`, `client|setname`, ...).
    var calls: [String: Int] = [:]

    /// Reads the server's counts now (`cmdstat_get` → `calls=11882,usec=8199,...`).
    static func read(_ server: RedisServerProcess) async throws -> RedisCommandCount {
        let redis = try await RedisConnection.connect(url: server.url())
        defer { Task { await redis.close() } }
        var count = RedisCommandCount()
        for (field, value) in try await redis.info("commandstats") where field.hasPrefix("cmdstat_") {
            let calls = value.split(separator: ",").first { $0.hasPrefix("calls=") }.flatMap { Int($0.dropFirst(6)) }
            count.calls[String(field.dropFirst(8))] = calls
        }
        return count
    }

    /// The calls made since `earlier`, leaving out the commands in `excluded` (the benchmark's own
    /// polling and reading).
    func calls(since earlier: RedisCommandCount, excluding excluded: Set<String>) -> Int {
        calls.reduce(0) { total, entry in
            excluded.contains(entry.key) ? total : total + max(0, entry.value - (earlier.calls[entry.key] ?? 0))
        }
    }
}
