import Dispatch
import Foundation

/// `celeriac job run|status|result|cancel|list|stats`.
public enum JobCommand {
    static let usage = """
        Usage: celeriac job <run|status|result|cancel|list|stats> [options]

          run       Submit a map-reduce job over a dataset; --wait follows it and prints the result.
          status    Print a job's state and progress (--json: id, state, partitions_total, ...).
          result    Wait for a job and print its result as JSON.
          cancel    Cancel a job: no partition starts after it, running ones stop.
          list      The most recent jobs.
          stats     Totals over all finished jobs, with items per second per function.

        Run 'celeriac job <command> --help' for its options.
        """

    /// Runs `celeriac job ...`; returns the exit status.
    public static func main(program: String, arguments: [String]) async -> Int32 {
        guard let command = arguments.first else {
            StandardStreams.printError("missing job command\n\n\(usage)", program: program)
            return ExitStatus.usage
        }
        let rest = Array(arguments.dropFirst())
        let name = "\(program) \(command)"
        switch command {
        case "run": return await run(program: name, arguments: rest)
        case "status": return await status(program: name, arguments: rest)
        case "result": return await result(program: name, arguments: rest)
        case "cancel": return await cancel(program: name, arguments: rest)
        case "list": return await list(program: name, arguments: rest)
        case "stats": return await stats(program: name, arguments: rest)
        case "-h", "--help", "help":
            StandardStreams.printLine(usage)
            return ExitStatus.success
        default:
            StandardStreams.printError("unknown job command '\(command)'\n\n\(usage)", program: program)
            return ExitStatus.usage
        }
    }

    static let runOptions =
        ConnectionSettings.options + [
            CommandLineOption("function", short: "f", value: "NAME", help: "The processing function (validation, analysis, ...)."),
            CommandLineOption("input", short: "i", value: "PATH|redis-list:KEY", help: "The dataset: a file workers can read, or a Redis list."),
            CommandLineOption("format", value: "jsonl|csv", help: "The file's format (default: by extension, else jsonl)."),
            CommandLineOption("params", short: "p", value: "JSON|@FILE", help: "The function's parameters as a JSON object."),
            CommandLineOption("partition-size", value: "N|auto", help: "Items per partition (default auto: 4 per live worker slot)."),
            CommandLineOption("output", short: "o", value: "DIR|redis-list:KEY", help: "Where transformation / enrichment write items."),
            CommandLineOption("queue", short: "Q", value: "NAME", help: "The queue of the job's tasks (default celery)."),
            CommandLineOption("max-failed-partitions", value: "N", help: "Fail the job when more partitions fail (default: only all)."),
            CommandLineOption("wait", short: "w", help: "Follow the job with a progress bar, then print its result."),
            CommandLineOption("json", help: "With --wait: print only the result object as JSON on stdout."),
            CommandLineOption("timeout", value: "SECONDS", help: "With --wait: give up after this long (exit 1; the job goes on)."),
        ]

    /// Reads `--params`: JSON text or `@FILE`.
    static func parameters(_ text: String?) throws -> JSONValue {
        guard let text else { return [:] }
        let json: String
        if text.hasPrefix("@") {
            do {
                json = try String(contentsOfFile: String(text.dropFirst()), encoding: .utf8)
            } catch {
                throw UsageError("cannot read --params file \(text.dropFirst()): \(error.localizedDescription)")
            }
        } else {
            json = text
        }
        do {
            return try JSONValue(parsing: json)
        } catch {
            throw UsageError("--params is not valid JSON: \(error)")
        }
    }

    /// The spec of `celeriac job run`'s options.
    static func spec(_ commandLine: ParsedCommandLine) throws -> JobSpec {
        guard let function = commandLine.value("function") else { throw UsageError("give --function NAME") }
        guard let input = commandLine.value("input") else { throw UsageError("give --input PATH or --input redis-list:KEY") }
        let dataset: DatasetSource
        do {
            dataset = try DatasetSource(argument: input, format: commandLine.value("format"))
        } catch let error as JobError {
            throw UsageError(error.message)
        }
        var spec = JobSpec(dataset: dataset, function: function, parameters: try parameters(commandLine.value("params")))
        switch commandLine.value("partition-size") {
        case nil, "auto"?: spec.partitionSize = .automatic
        case let text?:
            guard let size = Int(text), (1...10_000_000).contains(size) else {
                throw UsageError("--partition-size needs auto or an integer in 1...10000000, got '\(text)'")
            }
            spec.partitionSize = .items(size)
        }
        spec.output = commandLine.value("output").map(JobOutputTarget.init(argument:))
        if let queue = commandLine.value("queue") { spec.queue = queue }
        spec.maxFailedPartitions = try commandLine.integer("max-failed-partitions", in: 0...1_000_000)
        return spec
    }

    static func run(program: String, arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program,
                usage: "celeriac job run --function NAME --input PATH|redis-list:KEY [--params JSON|@FILE] [--wait] [--json]",
                summary: """
                    Submits a job: the dataset is split into partitions, one celeriac.jobs.map task each, and a
                    celeriac.jobs.reduce task combines their summaries. Prints the job id; with --wait, a live
                    progress bar (partitions, items/s, ETA), then the result. Ctrl-C while waiting cancels the job.
                    """,
                options: runOptions)
        } catch {
            return error.status
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            let spec = try spec(commandLine)
            let timeout = try commandLine.duration("timeout")
            let job = try await app.jobs.submit(spec)
            let json = commandLine.flag("json")
            guard commandLine.flag("wait") else {
                StandardStreams.printLine(job.id)
                return ExitStatus.success
            }
            if !json { StandardStreams.printLine("job \(job.id)") }
            return try await follow(job, label: spec.function, json: json, timeout: timeout, program: program)
        }
    }

    /// Shows `job`'s progress until it ends, cancelling it on Ctrl-C; prints its result.
    static func follow(_ job: Job, label: String, json: Bool, timeout: Duration?, program: String) async throws -> Int32 {
        let interrupt = InterruptWatch()
        defer { interrupt.stop() }
        let display = JobProgressDisplay(label: label, quiet: json)
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var status = try await job.status()
        while !status.state.isFinished {
            display.show(status)
            if interrupt.interrupted {
                display.finish()
                StandardStreams.printError("interrupted: cancelling job \(job.id)", program: program)
                try await job.cancel()
                status = try await job.status()
                break
            }
            if let deadline, ContinuousClock.now >= deadline {
                display.finish()
                StandardStreams.printError("job \(job.id) is not done within the timeout (it goes on)", program: program)
                return ExitStatus.failure
            }
            try await Task.sleep(for: .milliseconds(250))
            status = try await job.status()
        }
        display.show(status)
        display.finish()
        guard status.state == .completed else {
            StandardStreams.printError("job \(job.id) \(status.state.rawValue)" + (status.errors.first.map { ": \($0)" } ?? ""), program: program)
            return ExitStatus.failure
        }
        let result = try await job.result()
        StandardStreams.printLine(json ? result.serializedString : result.prettyPrinted())
        return ExitStatus.success
    }

    /// Parses a command taking one job id and `--json`.
    /// - Throws: ``CommandLineExit`` as ``CommandLineTool/parse(_:program:usage:summary:options:)``,
    ///   and with status 2 when there is not exactly one id.
    private static func idCommand(program: String, arguments: [String], summary: String, extra: [CommandLineOption] = [])
        throws(CommandLineExit) -> (ParsedCommandLine, String)
    {
        let commandLine = try CommandLineTool.parse(
            arguments, program: program, usage: "\(program) JOB_ID [--json]", summary: summary,
            options: ConnectionSettings.options + [CommandLineOption("json", help: "Print JSON.")] + extra)
        guard commandLine.positionals.count == 1 else {
            StandardStreams.printError("give one job id; run '\(program) --help'", program: program)
            throw CommandLineExit(status: ExitStatus.usage)
        }
        return (commandLine, commandLine.positionals[0])
    }

    static func status(program: String, arguments: [String]) async -> Int32 {
        let (commandLine, id): (ParsedCommandLine, String)
        do {
            (commandLine, id) = try idCommand(
                program: program, arguments: arguments, summary: "Prints a job's state and progress (also of a Python-built job chord).")
        } catch {
            return error.status
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            let status = try await app.jobs.job(id).status()
            if commandLine.flag("json") {
                StandardStreams.printLine(status.json.serializedString)
            } else {
                StandardStreams.printLine(describe(status))
            }
            return ExitStatus.success
        }
    }

    static func describe(_ status: JobStatus) -> String {
        var lines = [
            "job \(status.id): \(status.state.rawValue)",
            "  function:   \(status.function) over \(status.dataset)",
            "  partitions: \(status.partitionsDone) done, \(status.partitionsRunning) running, \(status.partitionsFailed) failed, \(status.partitionsTotal) total",
            "  items:      \(JobProgressDisplay.grouped(status.itemsProcessed)) of \(JobProgressDisplay.grouped(status.itemsTotal)), \(JobProgressDisplay.grouped(status.failedItems)) failed",
            "  speed:      \(JobProgressDisplay.rate(status.itemsPerSecond)), \(String(format: "%.1f", status.elapsed)) s elapsed"
                + (status.eta.map { String(format: ", ETA %.0f s", $0) } ?? ""),
        ]
        if let by = status.submittedBy { lines.append("  submitted:  by \(by)") }
        for error in status.errors.prefix(5) { lines.append("  error:      \(error)") }
        // The record and the errors are read from Redis: escaped, one line each.
        return lines.map { TerminalText.safe($0) }.joined(separator: "\n")
    }

    static func result(program: String, arguments: [String]) async -> Int32 {
        let (commandLine, id): (ParsedCommandLine, String)
        do {
            (commandLine, id) = try idCommand(
                program: program, arguments: arguments, summary: "Waits for a job to finish and prints its result.",
                extra: [CommandLineOption("timeout", value: "SECONDS", help: "Give up after this long (exit 1).")])
        } catch {
            return error.status
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            let result = try await app.jobs.job(id).result(timeout: try commandLine.duration("timeout"))
            StandardStreams.printLine(commandLine.flag("json") ? result.serializedString : result.prettyPrinted())
            return ExitStatus.success
        }
    }

    static func cancel(program: String, arguments: [String]) async -> Int32 {
        let (commandLine, id): (ParsedCommandLine, String)
        do {
            (commandLine, id) = try idCommand(program: program, arguments: arguments, summary: "Cancels a job.")
        } catch {
            return error.status
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            let job = app.jobs.job(id)
            let moved = try await job.cancel()
            let status = try await job.status()
            if commandLine.flag("json") {
                StandardStreams.printLine(JSONValue.object(["cancelled": .bool(moved), "state": .string(status.state.rawValue)]).serializedString)
            } else {
                StandardStreams.printLine(moved ? "job \(id) cancelled" : "job \(id) was already \(status.state.rawValue)")
            }
            return ExitStatus.success
        }
    }

    static func list(program: String, arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "\(program) [--limit N] [--json]", summary: "Lists the most recent jobs, newest first.",
                options: ConnectionSettings.options + [
                    CommandLineOption("limit", value: "N", help: "How many (default 20)."), CommandLineOption("json", help: "Print JSON."),
                ])
        } catch {
            return error.status
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            let jobs = try await app.jobs.list(limit: try commandLine.integer("limit", in: 1...1000) ?? 20)
            if commandLine.flag("json") {
                StandardStreams.printLine(JSONValue.array(jobs.map(\.json)).serializedString)
                return ExitStatus.success
            }
            guard !jobs.isEmpty else {
                StandardStreams.printLine("no jobs")
                return ExitStatus.success
            }
            let rows = jobs.map { status in
                [
                    status.id, status.state.rawValue, status.function, "\(status.partitionsDone)/\(status.partitionsTotal)",
                    JobProgressDisplay.grouped(status.itemsProcessed), String(format: "%.1f", status.elapsed),
                    status.submittedAt.map(CeleryTimestamp.format) ?? "",
                ]
            }
            StandardStreams.printLine(
                table(["ID", "STATE", "FUNCTION", "PARTITIONS", "ITEMS", "SECONDS", "SUBMITTED"], rows.map { $0.map { TerminalText.safe($0) } }))
            return ExitStatus.success
        }
    }

    static func stats(program: String, arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "\(program) [--json]",
                summary: "Totals over all finished jobs: by outcome, items, time, items per second per function.",
                options: ConnectionSettings.options + [CommandLineOption("json", help: "Print JSON.")])
        } catch {
            return error.status
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            let statistics = try await app.jobs.statistics()
            if commandLine.flag("json") {
                StandardStreams.printLine(statistics.json.serializedString)
                return ExitStatus.success
            }
            StandardStreams.printLine(
                "\(statistics.jobs) jobs: \(statistics.completed) completed, \(statistics.failed) failed, \(statistics.cancelled) cancelled; "
                    + "\(JobProgressDisplay.grouped(statistics.items)) items in \(String(format: "%.1f", statistics.seconds)) s")
            let rows = statistics.functions.sorted { $0.key < $1.key }.map { name, totals in
                [
                    name, "\(totals.jobs)", "\(totals.completed)", "\(totals.failed)", "\(totals.cancelled)",
                    JobProgressDisplay.grouped(totals.items), String(format: "%.1f", totals.seconds),
                    JobProgressDisplay.rate(totals.itemsPerSecond),
                ]
            }
            if !rows.isEmpty {
                StandardStreams.printLine(table(["FUNCTION", "JOBS", "DONE", "FAILED", "CANCELLED", "ITEMS", "SECONDS", "RATE"], rows))
            }
            return ExitStatus.success
        }
    }

    /// Left-aligned columns.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
