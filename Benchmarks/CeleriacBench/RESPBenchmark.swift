import Foundation
import RESP
import RedisTestSupport

/// `celeriac-bench resp`: the RESP client against `redis-benchmark`, on one private redis-server,
/// in the same run.
///
/// - Unpipelined PING on one connection: one awaited `RedisConnection.send` per command vs
///   `redis-benchmark -c 1 -t ping` (its PING_MBULK test: the same bytes on the wire).
/// - The same PING loop run on the connection's own thread (`withIsolation`), which shows what the
///   two thread switches of an awaited call cost.
/// - Pipelined LPUSH on one connection, 64 commands per round trip (`RedisConnection.pipeline`) vs
///   `redis-benchmark -c 1 -P 64 -t lpush`; both push a 3-byte value.
///
/// This machine's speed drifts by tens of percent from second to second, so each comparison is run
/// as many short pairs (the peer, then Celeriac, back to back); the ratio of each pair is taken and
/// the median over the pairs reported, with the median rates.
struct RESPBenchmark {
    var pings = 10_000
    var pushes = 320_000
    var pairs = 9

    struct Row {
        let name: String
        let celeriac: Double
        let peer: Double
        let ratio: Double
    }

    func run() async throws -> [Row] {
        guard let redisBenchmark = RedisServerProcess.findExecutable("redis-benchmark") else {
            throw BenchmarkError("redis-benchmark is not installed (apt-get install -y redis-tools)")
        }
        return try await withRedisServer { try await measure(server: $0, redisBenchmark: redisBenchmark) }
    }

    private func measure(server: RedisServerProcess, redisBenchmark: String) async throws -> [Row] {
        let connection = try await RedisConnection.connect(url: server.url())
        for _ in 0..<2_000 { try await connection.send(RESPCommand("PING")) }

        var ping = Samples()
        var isolated = Samples()
        var push = Samples()
        for _ in 0..<pairs {
            let pingPeer = try Self.redisBenchmark(
                redisBenchmark, port: server.port, arguments: ["-c", "1", "-n", String(pings), "-t", "ping"],
                test: "PING_MBULK")
            ping.add(celeriac: try await pingRate(connection), peer: pingPeer)
            isolated.add(celeriac: try await isolatedPingRate(connection), peer: pingPeer)

            let pushPeer = try Self.redisBenchmark(
                redisBenchmark, port: server.port,
                arguments: ["-c", "1", "-P", "64", "-n", String(pushes), "-t", "lpush"], test: "LPUSH")
            push.add(celeriac: try await pipelinedPushRate(connection), peer: pushPeer)
            try await connection.send("DEL", "mylist", "celeriac-bench-list")
        }
        return [
            ping.row("PING, unpipelined, 1 connection"),
            isolated.row("PING, on the connection's thread"),
            push.row("LPUSH, pipelined 64, 1 connection"),
        ]
    }

    private func pingRate(_ connection: RedisConnection) async throws -> Double {
        let ping = RESPCommand("PING")
        let start = ContinuousClock.now
        for _ in 0..<pings { try await connection.send(ping) }
        return Double(pings) / (ContinuousClock.now - start).seconds
    }

    private func isolatedPingRate(_ connection: RedisConnection) async throws -> Double {
        let ping = RESPCommand("PING")
        let count = pings
        return try await connection.withIsolation { connection in
            let start = ContinuousClock.now
            for _ in 0..<count { try connection.send(ping) }
            return Double(count) / (ContinuousClock.now - start).seconds
        }
    }

    private func pipelinedPushRate(_ connection: RedisConnection) async throws -> Double {
        let batch = [RESPCommand](repeating: RESPCommand("LPUSH", "celeriac-bench-list", "xxx"), count: 64)
        let batches = pushes / 64
        let start = ContinuousClock.now
        for _ in 0..<batches {
            let replies = try await connection.pipeline(batch)
            guard case .integer = replies[63] else { throw BenchmarkError("unexpected LPUSH reply \(replies[63])") }
        }
        return Double(batches * 64) / (ContinuousClock.now - start).seconds
    }

    /// Runs redis-benchmark with `-q` and returns the requests per second of `test`.
    static func redisBenchmark(_ executable: String, port: Int, arguments: [String], test: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-h", "127.0.0.1", "-p", String(port), "-q"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // -q prints progress lines separated by \r, then "TEST: N requests per second, ...".
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) where line.hasPrefix("\(test): ") {
            let fields = line.dropFirst(test.count + 2).split(separator: " ")
            if fields.count >= 3, fields[1] == "requests", let rate = Double(fields[0]) { return rate }
        }
        throw BenchmarkError("could not read the \(test) rate from redis-benchmark's output")
    }
}

/// Paired measurements: Celeriac's rate and the peer's, taken back to back.
struct Samples {
    private var celeriac: [Double] = []
    private var peer: [Double] = []

    mutating func add(celeriac: Double, peer: Double) {
        self.celeriac.append(celeriac)
        self.peer.append(peer)
    }

    func row(_ name: String) -> RESPBenchmark.Row {
        let ratios = zip(celeriac, peer).map { $0 / $1 }
        return RESPBenchmark.Row(name: name, celeriac: median(celeriac), peer: median(peer), ratio: median(ratios))
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
