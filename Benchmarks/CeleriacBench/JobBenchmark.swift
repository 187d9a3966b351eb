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

    /// Python with Celery, for the comparison with Celery's two ways of writing the job (`nil`: skipped).
    var python: String?
    /// Items of the Celery comparison's dataset (the seed pattern needs GBs of RSS at 1,000,000).
    var celeryItems: Int?

    /// Celery's runs of one pattern and function, each right after Celeriac's two-slot worker on
    /// the same file: medians of the rates and of the pairs' ratios, the pool's peak child RSS.
    struct CeleryRow {
        var pattern: String
        var function: String
        var itemsPerSecond: Double
        var celeriacItemsPerSecond: Double
        var ratio: Double
        var pairs: Int
        var rss: Int
    }

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
    func run() async throws -> ([Row], [CeleryRow]) {
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
                            partitionSize: .slots(slots), queue: "bench\(slots)"))
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
            var celery: [CeleryRow] = []
            if let python {
                celery = try await celeryRuns(server, python: python, app: app)
            }
            await RedisServerProcess.onOwnThread {
                one.terminate(grace: 20)
                two.terminate(grace: 20)
            }
            return (rows, celery)
        }
    }

    /// Celery 5.7 with `-P prefork -c 2` over its own copy of the data (``celeryItems`` items), the
    /// summary pattern first (the pool's children keep their peak RSS), then the seed's; each
    /// against Celeriac's two-slot worker on the same file, just before.
    private func celeryRuns(_ server: RedisServerProcess, python: String, app: CeleriacApp) async throws -> [CeleryRow] {
        let count = celeryItems ?? items
        let path = server.directory.appendingPathComponent("celery.jsonl").path
        try DatasetGenerator(items: count, seed: 2).write(to: path)
        let script = URL(fileURLWithPath: BenchmarkWorkers.celeryScript).deletingLastPathComponent()
            .appendingPathComponent("celery_job_bench.py").path
        let environment = BenchmarkWorkers.environment(server)
        let worker = try ChildProcess(
            python,
            ["-m", "celery", "-A", "celery_job_bench", "worker", "-l", "WARNING", "-P", "prefork", "-c", "2", "-Q", "celery",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            environment: environment, outputPath: server.directory.appendingPathComponent("celery-job-worker.log").path)
        do {
            let rows = try await celeryRows(
                worker: worker, python: python, script: script, path: path, count: count, app: app, environment: environment)
            await RedisServerProcess.onOwnThread { worker.terminate(grace: 20) }
            return rows
        } catch {
            await RedisServerProcess.onOwnThread { worker.terminate(grace: 20) }
            throw error
        }
    }

    private func celeryRows(
        worker: ChildProcess, python: String, script: String, path: String, count: Int, app: CeleriacApp,
        environment: [String: String?]
    ) async throws -> [CeleryRow] {
        var rows: [CeleryRow] = []
        for pattern in ["summary", "seed"] {
            // The seed's pattern takes minutes and GBs a run: once; the summaries in pairs.
            let pairs = pattern == "seed" ? 1 : min(max(self.pairs, 1), 3)
            for (function, parameters) in functions {
                var celeryRates: [Double] = []
                var celeriacRates: [Double] = []
                for _ in 0..<pairs {
                    let pair = try await celeryPair(
                        pattern: pattern, function: function, parameters: parameters, python: python, script: script, path: path,
                        count: count, app: app, environment: environment)
                    celeryRates.append(pair.celery)
                    celeriacRates.append(pair.celeriac)
                }
                let children = (try? String(contentsOfFile: "/proc/\(worker.pid ?? 0)/task/\(worker.pid ?? 0)/children", encoding: .utf8)) ?? ""
                let rss = children.split(separator: " ").compactMap { pid_t($0) }.map(peakRSS).max() ?? 0
                rows.append(CeleryRow(
                    pattern: pattern, function: function, itemsPerSecond: median(celeryRates), celeriacItemsPerSecond: median(celeriacRates),
                    ratio: median(zip(celeriacRates, celeryRates).map { $0 / $1 }), pairs: pairs, rss: rss))
            }
        }
        return rows
    }

    /// Items per second of Celeriac's two-slot worker, then of Celery's pool, on the same file.
    private func celeryPair(
        pattern: String, function: String, parameters: JSONValue, python: String, script: String, path: String, count: Int,
        app: CeleriacApp, environment: [String: String?]
    ) async throws -> (celery: Double, celeriac: Double) {
        let start = ContinuousClock.now
        let job = try await app.jobs.submit(JobSpec(
            dataset: .jsonLines(path: path), function: function, parameters: parameters,
            partitionSize: .slots(2), queue: "bench2"))
        _ = try await job.result(timeout: .seconds(3600))
        let celeriac = Double(count) / (ContinuousClock.now - start).seconds
        let run = try await CommandRunner.run(
            URL(fileURLWithPath: python), [script, pattern, function, path, "8"], environment: environment)
        guard run.status == 0, let report = try? JSONValue(parsing: run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)),
            let seconds = report["seconds"]?.doubleValue, seconds > 0
        else {
            throw BenchmarkError("the Celery \(pattern) \(function) run failed: \(run.standardError.suffix(2000))")
        }
        return (Double(count) / seconds, celeriac)
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
    benchmark.celeryItems = try commandLine.integer("celery-items", in: 1_000...100_000_000)
    if !commandLine.flag("celeriac-only") {
        let python = commandLine.value("python") ?? FileManager.default.currentDirectoryPath + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw BenchmarkError("no Python with Celery at \(python): run scripts/test.sh once, pass --python, or --celeriac-only")
        }
        benchmark.python = python
    }
    let (rows, celery) = try await benchmark.run()
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
    guard !celery.isEmpty else { return }
    StandardStreams.printLine(
        "Celery -P prefork -c 2, \(benchmark.celeryItems ?? benchmark.items) items".padded(34) + "celery/s".leftPadded(12)
            + "celeriac/s".leftPadded(12) + "  ratio   pairs  Celery pool peak child RSS")
    for row in celery {
        let name = "\(row.pattern) pattern, \(row.function)"
        let rates: String = String(Int(row.itemsPerSecond)).leftPadded(12) + String(Int(row.celeriacItemsPerSecond)).leftPadded(12)
        StandardStreams.printLine(
            name.padded(34) + rates + String(format: "  %.1fx", row.ratio).padded(9) + String(row.pairs).padded(7)
                + "\(row.rss >> 20) MB")
    }
}
