import Foundation
import RESP
import RedisTestSupport

/// Redis' own count of the commands it ran, by command (`INFO commandstats`), those run inside
/// scripts included: the drains' commands per task are read from it, not from what a worker says.
struct RedisCommandCount {
    /// Calls by command name (`get`, `evalsha`, `client|setname`, ...).
    var calls: [String: Int] = [:]

    /// Reads the server's counts now.
    static func read(_ server: RedisServerProcess) async throws -> RedisCommandCount {
        let redis = try await RedisConnection.connect(url: server.url())
        defer { Task { await redis.close() } }
        let reply = try await redis.send("INFO", "commandstats")
        guard let text = reply.string else { throw BenchmarkError("INFO commandstats answered \(reply)") }
        return RedisCommandCount(info: text)
    }

    /// Parses lines such as `cmdstat_get:calls=11882,usec=8199,...`.
    init(info: String) {
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: 8)..<colon])
            let fields = line[line.index(after: colon)...].split(separator: ",")
            if let field = fields.first(where: { $0.hasPrefix("calls=") }), let calls = Int(field.dropFirst(6)) {
                self.calls[name] = calls
            }
        }
    }

    /// The calls made since `earlier`, leaving out the commands in `excluded` (the benchmark's own
    /// polling and reading).
    func calls(since earlier: RedisCommandCount, excluding excluded: Set<String>) -> Int {
        calls.reduce(0) { total, entry in
            excluded.contains(entry.key) ? total : total + max(0, entry.value - (earlier.calls[entry.key] ?? 0))
        }
    }
}
