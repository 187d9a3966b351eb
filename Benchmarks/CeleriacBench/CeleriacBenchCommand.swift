import Celeriac
import Foundation

/// `celeriac-bench`: measures Celeriac against its peers in one run and prints the ratios.
@main
struct CeleriacBenchCommand {
    static let program = "celeriac-bench"

    static func main() async {
        let options = [
            CommandLineOption("pings", value: "N", help: "Unpipelined PINGs per measurement (default 10000)."),
            CommandLineOption("pushes", value: "N", help: "Pipelined LPUSHes per measurement (default 320000)."),
            CommandLineOption("pairs", value: "N", help: "resp, enqueue: peer/Celeriac pairs; medians are reported (default 9)."),
            CommandLineOption("tasks", value: "N", help: "enqueue: single sends per run (default 2000); worker: tasks (default 10000)."),
            CommandLineOption("python", value: "PATH", help: "enqueue, worker: Python with Celery (default .venv/bin/python)."),
            CommandLineOption("celeriac-only", help: "enqueue, worker, job: skip the Celery runs (profiling; no ratios)."),
            CommandLineOption("round-trips", value: "N", help: "worker: sequential send().get() calls (default 2000)."),
            CommandLineOption("header", value: "N", help: "chord: header tasks per chord (default 1000)."),
            CommandLineOption("rounds", value: "N", help: "chord: chords per worker kind; medians are reported (default 5)."),
            CommandLineOption("items", value: "N", help: "job: items in the generated dataset (default 1000000)."),
            CommandLineOption("celery-items", value: "N", help: "job: items of the Celery comparison (default: --items)."),
            .help,
        ]
        do {
            let commandLine = try ParsedCommandLine(CommandLine.arguments.dropFirst(), options: options)
            let suite = commandLine.positionals.first
            if commandLine.flag("help") || !["resp", "enqueue", "worker", "chord", "codec", "job"].contains(suite ?? "") {
                StandardStreams.printLine("""
                    Usage: celeriac-bench resp|enqueue|worker|chord|codec|job [options]   (build with -c release)

                    resp     The RESP client vs redis-benchmark on a private redis-server:
                             unpipelined PING and LPUSH pipelined by 64, one connection each.
                    enqueue  Publishing no-op tasks: Celeriac's send and sendMany vs Celery's
                             apply_async loop (from the venv) and raw pipelined LPUSH.
                    worker   Draining queued no-op tasks (results stored) and sequential
                             send().get() round trips: Celeriac's worker vs Celery's pools.
                    chord    A chord of N trivial tasks + xsum, submit to body result:
                             Celeriac producer + worker vs Celery's (solo, prefork).
                    codec    The message layer alone, no Redis: building, encoding and
                             decoding task messages per second (median of 9 rounds).
                    job      The main job: validation and analysis over a generated dataset,
                             in-process vs one worker slot vs two (celeriac-worker processes),
                             with the workers' peak RSS; then Celery (prefork -c 2) running the
                             same jobs written as the seed's pattern and as summaries.

                    Options:
                    \(ParsedCommandLine.helpText(for: options))
                    """)
                exit(commandLine.flag("help") ? ExitStatus.success : ExitStatus.usage)
            }
            #if DEBUG
            StandardStreams.printError("warning: a debug build; measure with 'swift run -c release'", program: program)
            #endif
            if suite == "job" {
                try await runJobBenchmark(commandLine)
                return
            }
            if suite == "codec" {
                var benchmark = CodecBenchmark()
                benchmark.messages = try commandLine.integer("tasks", in: 1_000...10_000_000) ?? benchmark.messages
                StandardStreams.printLine("message layer, \(benchmark.messages) messages".padded(46) + "per second".leftPadded(12))
                for row in benchmark.run() {
                    StandardStreams.printLine(row.name.padded(46) + String(Int(row.perSecond)).leftPadded(12))
                }
                return
            }
            if suite == "enqueue" || suite == "worker" || suite == "chord" {
                let python = commandLine.value("python") ?? FileManager.default.currentDirectoryPath + "/.venv/bin/python"
                guard FileManager.default.isExecutableFile(atPath: python) else {
                    throw BenchmarkError("no Python with Celery at \(python): run scripts/test.sh once, or pass --python")
                }
                if suite == "worker" {
                    try await runWorkerBenchmark(commandLine, python: python)
                    return
                }
                if suite == "chord" {
                    try await runChordBenchmark(commandLine, python: python)
                    return
                }
                var benchmark = EnqueueBenchmark(python: python)
                benchmark.tasks = try commandLine.integer("tasks", in: 100...10_000_000) ?? benchmark.tasks
                benchmark.pairs = try commandLine.integer("pairs", in: 1...99) ?? benchmark.pairs
                benchmark.celeriacOnly = commandLine.flag("celeriac-only")
                let rows = try await benchmark.run()
                StandardStreams.printLine(
                    "enqueue no-op tasks, median of \(benchmark.pairs) pairs".padded(46) + "tasks/s".leftPadded(12)
                        + "  ratio (median of pairs)")
                for row in rows where !row.rate.isNaN {
                    let ratio = row.ratio.map { String(format: "%.2f", $0) } ?? ""
                    StandardStreams.printLine(row.name.padded(46) + String(Int(row.rate)).leftPadded(12) + "  " + ratio)
                }
                return
            }
            var benchmark = RESPBenchmark()
            benchmark.pings = try commandLine.integer("pings", in: 1_000...100_000_000) ?? benchmark.pings
            benchmark.pushes = try commandLine.integer("pushes", in: 6_400...1_000_000_000) ?? benchmark.pushes
            benchmark.pairs = try commandLine.integer("pairs", in: 1...99) ?? benchmark.pairs
            let rows = try await benchmark.run()
            StandardStreams.printLine(
                "benchmark".padded(34) + "celeriac/s".leftPadded(12) + "redis-benchmark/s".leftPadded(19)
                    + "ratio".leftPadded(7))
            for row in rows {
                StandardStreams.printLine(
                    row.name.padded(34) + String(Int(row.celeriac)).leftPadded(12)
                        + String(Int(row.peer)).leftPadded(19) + String(format: "%.2f", row.ratio).leftPadded(7))
            }
        } catch let error as UsageError {
            StandardStreams.printError("\(error); run 'celeriac-bench --help'", program: program)
            exit(ExitStatus.usage)
        } catch {
            StandardStreams.printError("\(error)", program: program)
            exit(ExitStatus.failure)
        }
    }
}

/// `celeriac-bench worker`: prints drain rates with ratios against Celery's solo and best pool,
/// and round-trip latencies.
private func runWorkerBenchmark(_ commandLine: ParsedCommandLine, python: String) async throws {
    var benchmark = WorkerBenchmark(python: python)
    benchmark.tasks = try commandLine.integer("tasks", in: 100...10_000_000) ?? benchmark.tasks
    benchmark.roundTrips = try commandLine.integer("round-trips", in: 10...10_000_000) ?? benchmark.roundTrips
    benchmark.celeriacOnly = commandLine.flag("celeriac-only")
    let report = try await benchmark.run()
    let celery = report.drains.filter { $0.name.hasPrefix("Celery") }
    let solo = celery.first?.rate ?? 1
    let bestPool = celery.map(\.rate).max() ?? 1
    let bestSidekiq = report.drains.filter { $0.name.hasPrefix("Sidekiq") }.map(\.rate).max()
    StandardStreams.printLine(
        "drain \(benchmark.tasks) queued no-op tasks".padded(46) + "tasks/s".leftPadded(12) + "cmds/task".leftPadded(11))
    for drain in report.drains {
        var note = drain.name.hasPrefix("Celeriac") && !celery.isEmpty
            ? String(format: "%.1fx Celery solo, %.1fx its best pool", drain.rate / solo, drain.rate / bestPool) : ""
        if drain.name.hasPrefix("Celeriac"), let bestSidekiq {
            note += String(format: ", %.2fx Sidekiq's best", drain.rate / bestSidekiq)
        }
        StandardStreams.printLine(
            drain.name.padded(46) + String(Int(drain.rate)).leftPadded(12)
                + String(format: "%.2f", drain.commandsPerTask).leftPadded(11) + "  " + note)
    }
    if let missing = report.sidekiqMissing { StandardStreams.printLine("no Sidekiq rows: \(missing)") }
    StandardStreams.printLine("(Celery and Celeriac store results; Sidekiq stores none and acks nothing)")
    StandardStreams.printLine(
        "round trip get(), \(benchmark.roundTrips) sequential, ms".padded(46)
            + ["p50", "p90", "p99", "p99.9", "max"].map { $0.leftPadded(10) }.joined())
    StandardStreams.printLine("Celeriac send().get(), Celeriac worker".padded(46) + report.celeriacLatency.cells)
    if benchmark.celeriacOnly { return }
    StandardStreams.printLine("Celery delay().get(), Celeriac worker".padded(46) + report.pythonToCeleriacLatency.cells)
    StandardStreams.printLine("  same, worker --publish-lead 0.001".padded(46) + report.pythonToLeadingCeleriacLatency.cells)
    StandardStreams.printLine("Celery delay().get(), Celery solo worker".padded(46) + report.celeryLatency.cells)
    for (name, latency) in [("", report.pythonToCeleriacLatency), (" --publish-lead 0.001", report.pythonToLeadingCeleriacLatency)] {
        let ratios = String(
            format: "p99 %.2fx Celery solo's, max %.2fx (below 1 is better)", latency.p99 / report.celeryLatency.p99,
            latency.maximum / report.celeryLatency.maximum)
        StandardStreams.printLine("Celery's client: Celeriac's worker\(name) " + ratios)
    }
}

/// `celeriac-bench chord`: prints the median submit-to-result time of each worker kind and
/// Celeriac's speed-up against the faster Celery pool.
private func runChordBenchmark(_ commandLine: ParsedCommandLine, python: String) async throws {
    var benchmark = ChordBenchmark(python: python)
    benchmark.headerTasks = try commandLine.integer("header", in: 1...1_000_000) ?? benchmark.headerTasks
    benchmark.rounds = try commandLine.integer("rounds", in: 1...1_000) ?? benchmark.rounds
    let rows = try await benchmark.run()
    let fastestCelery = rows.filter { $0.name.hasPrefix("Celery") }.map(\.seconds).min() ?? .nan
    StandardStreams.printLine(
        "chord of \(benchmark.headerTasks) add(i, 0) + xsum, submit to result".padded(52) + "median ms".leftPadded(12))
    for row in rows {
        let note = row.name.hasPrefix("Celeriac") ? String(format: "  %.1fx faster than the faster Celery pool", fastestCelery / row.seconds) : ""
        StandardStreams.printLine(row.name.padded(52) + String(format: "%.1f", row.seconds * 1000).leftPadded(12) + note)
    }
}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
