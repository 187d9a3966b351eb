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
    var pairs = 5
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
        /// Medians of the pairs' ratios: local time / one-slot time, one-slot / two-slot time.
        var overhead: Double
        var scaling: Double
        var rssOneSlot: Int
        var rssTwoSlots: Int
    }

    /// Each pair runs the three back to back (in-process, then the one-slot worker's queue, then
    /// the two-slot worker's), so a slow stretch of this noisy machine hits all three; the ratios
    /// are the medians of the pairs' ratios.
    func run() async throws -> [Row] {
        try await withRedisServer { server in
            let path = server.directory.appendingPathComponent("bench.jsonl").path
            try DatasetGenerator(items: items, seed: 1).write(to: path)
            let one = try startWorker(server, slots: 1)
            let two = try startWorker(server, slots: 2)
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            defer { Task { await app.close() } }
            guard try await eventually(attempts: 1500, { (try await ControlClient(app: app).broadcast("ping", timeout: .milliseconds(200))).count == 2 }) else {
                throw BenchmarkError("the celeriac-worker processes did not come up; see \(server.directory.path)/bench-worker*.log")
            }
            var rows: [Row] = []
            for (function, parameters) in functions {
                var local: [Double] = []
                var oneSlot: [Double] = []
                var twoSlots: [Double] = []
                for _ in 0..<pairs {
                    let start = ContinuousClock.now
                    let result = try await LocalJobRunner.run(function: function, parameters: parameters, dataset: .jsonLines(path: path))
                    local.append((ContinuousClock.now - start).seconds)
                    guard result["items"] == .integer(items) else { throw BenchmarkError("local \(function) read \(result["items"] ?? nil)") }
                    for slots in [1, 2] {
                        let start = ContinuousClock.now
                        // Automatic sizing as for a queue with only this worker: 4 partitions per slot.
                        let job = try await app.jobs.submit(JobSpec(
                            dataset: .jsonLines(path: path), function: function, parameters: parameters,
                            partitionSize: .items(JobPlanner.automaticPartitionSize(items: items, slots: slots)), queue: "bench\(slots)"))
                        let result = try await job.result(timeout: .seconds(3600))
                        let seconds = (ContinuousClock.now - start).seconds
                        if slots == 1 { oneSlot.append(seconds) } else { twoSlots.append(seconds) }
                        guard result["items"] == .integer(items) else { throw BenchmarkError("job \(function) read \(result["items"] ?? nil)") }
                    }
                }
                rows.append(Row(
                    function: function, local: median(local), oneSlot: median(oneSlot), twoSlots: median(twoSlots),
                    overhead: median(zip(local, oneSlot).map { $0 / $1 }), scaling: median(zip(oneSlot, twoSlots).map { $0 / $1 }),
                    rssOneSlot: 0, rssTwoSlots: 0))
            }
            let rss = (peakRSS(one.pid), peakRSS(two.pid))
            for index in rows.indices { (rows[index].rssOneSlot, rows[index].rssTwoSlots) = rss }
            await RedisServerProcess.onOwnThread {
                one.terminate(grace: 20)
                two.terminate(grace: 20)
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
            ["-c", String(slots), "-n", "bench\(slots)@%h", "-Q", "bench\(slots)", "-l", "warning", "--broker", server.url(database: 0),
             "--backend", server.url(database: 1)],
            outputPath: server.directory.appendingPathComponent("bench-worker\(slots).log").path)
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
    benchmark.pairs = try commandLine.integer("pairs", in: 1...99) ?? 5
    let rows = try await benchmark.run()
    let title = "job over \(benchmark.items) items, median of \(benchmark.pairs)"
    let columns = "local/s".leftPadded(12) + "1 slot/s".leftPadded(12) + "2 slots/s".leftPadded(12)
    StandardStreams.printLine(title.padded(34) + columns + "  (a) 1 slot/local  (b) 2/1 slots  peak RSS 1-slot / 2-slot worker")
    for row in rows {
        let rate = { (seconds: Double) in String(Int(Double(benchmark.items) / seconds)).leftPadded(12) }
        let rates: String = rate(row.local) + rate(row.oneSlot) + rate(row.twoSlots)
        let overhead: String = String(format: "  %.2f", row.overhead).padded(20)
        let scaling: String = String(format: "%.2fx", row.scaling).padded(13)
        StandardStreams.printLine(row.function.padded(34) + rates + overhead + scaling + "\(row.rssOneSlot >> 20) MB / \(row.rssTwoSlots >> 20) MB")
    }
}
