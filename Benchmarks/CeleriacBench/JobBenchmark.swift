import Celeriac
import Foundation
import RedisTestSupport

/// `celeriac-bench job`: the main job's costs, measured in one run on a private redis-server with
/// `celeriac-worker` processes (built next to this benchmark) over a generated dataset:
///
/// - (a) queue overhead: a function over every item on one worker slot, against the same function
///   run in this process without a queue (`LocalJobRunner`); goal ≥ 0.9;
/// - (b) scaling: two slots against one; goal ≥ 1.7x on a 2-core machine;
/// - the workers' peak RSS (`VmHWM`), which must stay bounded whatever the dataset's size.
struct JobBenchmark {
    var items = 1_000_000
    var pairs = 3
    var functions: [(String, JSONValue)] = [
        ("validation", [
            "rules": [
                "email": ["required": true, "format": "email"], "age": ["type": "integer", "min": 18, "max": 120],
                "name": ["required": true, "min_length": 1, "max_length": 80],
                "category": ["one_of": .array(DatasetGenerator.categories.map(JSONValue.string))],
            ],
        ]),
        ("analysis", ["fields": ["age", "score", "amount"]]),
    ]

    struct Row {
        var function: String
        var local: Double
        var oneSlot: Double
        var twoSlots: Double
        var rssOneSlot: Int
        var rssTwoSlots: Int
    }

    func run() async throws -> [Row] {
        try await withRedisServer { server in
            let path = server.directory.appendingPathComponent("bench.jsonl").path
            try DatasetGenerator(items: items, seed: 1).write(to: path)
            var rows = functions.map { Row(function: $0.0, local: 0, oneSlot: 0, twoSlots: 0, rssOneSlot: 0, rssTwoSlots: 0) }
            for slots in [1, 2] {
                let worker = try startWorker(server, slots: slots)
                let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
                defer { Task { await app.close() } }
                guard try await eventually(attempts: 1500, { (try await ControlClient(app: app).broadcast("ping", timeout: .milliseconds(200))).count == 1 }) else {
                    throw BenchmarkError("the celeriac-worker did not come up; see \(server.directory.path)/bench-worker.log")
                }
                for (index, (function, parameters)) in functions.enumerated() {
                    var local: [Double] = []
                    var queued: [Double] = []
                    for _ in 0..<pairs {
                        if slots == 1 {
                            let start = ContinuousClock.now
                            let result = try await LocalJobRunner.run(function: function, parameters: parameters, dataset: .jsonLines(path: path))
                            local.append((ContinuousClock.now - start).seconds)
                            guard result["items"] == .integer(items) else { throw BenchmarkError("local \(function) read \(result["items"] ?? nil)") }
                        }
                        let start = ContinuousClock.now
                        let job = try await app.jobs.submit(JobSpec(dataset: .jsonLines(path: path), function: function, parameters: parameters))
                        let result = try await job.result(timeout: .seconds(3600))
                        queued.append((ContinuousClock.now - start).seconds)
                        guard result["items"] == .integer(items) else { throw BenchmarkError("job \(function) read \(result["items"] ?? nil)") }
                    }
                    if slots == 1 {
                        rows[index].local = median(local)
                        rows[index].oneSlot = median(queued)
                    } else {
                        rows[index].twoSlots = median(queued)
                    }
                }
                let rss = peakRSS(worker.pid)
                for index in rows.indices {
                    if slots == 1 { rows[index].rssOneSlot = rss } else { rows[index].rssTwoSlots = rss }
                }
                await RedisServerProcess.onOwnThread { worker.terminate(grace: 20) }
            }
            return rows
        }
    }

    private func startWorker(_ server: RedisServerProcess, slots: Int) throws -> ChildProcess {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("celeriac-worker").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchmarkError("build celeriac-worker next to celeriac-bench: swift build -c release")
        }
        return try ChildProcess(
            executable,
            ["-c", String(slots), "-n", "bench\(slots)@%h", "-l", "warning", "--broker", server.url(database: 0),
             "--backend", server.url(database: 1)],
            outputPath: server.directory.appendingPathComponent("bench-worker.log").path)
    }

    /// The process's peak resident set (`VmHWM`), in bytes; 0 when unknown.
    private func peakRSS(_ pid: pid_t?) -> Int {
        guard let pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }
}

/// `celeriac-bench job`: prints items per second and the two ratios.
func runJobBenchmark(_ commandLine: ParsedCommandLine) async throws {
    var benchmark = JobBenchmark()
    benchmark.items = try commandLine.integer("items", in: 1_000...100_000_000) ?? benchmark.items
    benchmark.pairs = try commandLine.integer("pairs", in: 1...99) ?? 3
    let rows = try await benchmark.run()
    let title = "job over \(benchmark.items) items, median of \(benchmark.pairs)"
    let columns = "local/s".leftPadded(12) + "1 slot/s".leftPadded(12) + "2 slots/s".leftPadded(12)
    StandardStreams.printLine(title.padded(34) + columns + "  (a) 1 slot/local  (b) 2/1 slots  worker RSS 1 / 2 slots")
    for row in rows {
        let rate = { (seconds: Double) in String(Int(Double(benchmark.items) / seconds)).leftPadded(12) }
        let rates: String = rate(row.local) + rate(row.oneSlot) + rate(row.twoSlots)
        let overhead: String = String(format: "  %.2f", row.local / row.oneSlot).padded(20)
        let scaling: String = String(format: "%.2fx", row.oneSlot / row.twoSlots).padded(13)
        StandardStreams.printLine(row.function.padded(34) + rates + overhead + scaling + "\(row.rssOneSlot >> 20) MB / \(row.rssTwoSlots >> 20) MB")
    }
}
