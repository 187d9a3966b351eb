import Foundation
import RESP

/// The whole of a beat executable (`celeriac-beat`), and the schedule listing that
/// `celeriac-beat --dry-run` and `celeriac schedule` print.
public enum BeatCommand {
    /// The beat's options (besides `--broker`/`--backend`).
    public static let options: [CommandLineOption] = [
        CommandLineOption("schedule", short: "s", value: "FILE", help: "The schedule file (JSON; see the README)."),
        CommandLineOption("dry-run", help: "Print the next run times of each entry and exit; needs no Redis."),
        CommandLineOption("count", value: "N", help: "With --dry-run: run times per entry (default 5)."),
        CommandLineOption("hostname", short: "n", value: "NAME", help: "This replica's name (default beat-<pid>@<host>)."),
        CommandLineOption("lease", value: "SECONDS", help: "Leader lease; a dead leader is replaced within it (default 5)."),
        CommandLineOption("loglevel", short: "l", value: "LEVEL", help: "debug, info, warning or error (default info)."),
    ]

    /// Loads the schedule named by `--schedule`.
    /// - Throws: ``UsageError`` without the option; ``CeleriacError`` for a bad file (naming the
    ///   entry, field and problem).
    public static func loadSchedule(_ commandLine: ParsedCommandLine) throws -> BeatSchedule {
        guard let path = commandLine.value("schedule") else { throw UsageError("--schedule FILE is required") }
        return try BeatSchedule(contentsOf: path)
    }

    /// The next `count` run times of each entry, one entry per paragraph.
    public static func listing(_ schedule: BeatSchedule, count: Int, after date: Date = Date()) -> String {
        var lines: [String] = []
        for (entry, runs) in schedule.upcomingRuns(after: date, count: count) {
            lines.append("\(entry.name): \(entry.task) \(entry.timing) (missed runs: \(entry.missed.rawValue))")
            for run in runs {
                var line = "  " + CeleryTimestamp.format(run)
                if case .cron(_, let zone) = entry.timing, zone.identifier != "UTC" {
                    line += "  (\(localTime(run, in: zone)) \(zone.identifier))"
                }
                lines.append(line)
            }
            if runs.isEmpty { lines.append("  (never)") }
        }
        return lines.joined(separator: "\n")
    }

    /// The same as JSON: `[{"name", "task", "runs": [ISO 8601, ...]}, ...]`.
    public static func listingJSON(_ schedule: BeatSchedule, count: Int, after date: Date = Date()) -> JSONValue {
        .array(
            schedule.upcomingRuns(after: date, count: count).map { entry, runs in
                [
                    "name": .string(entry.name), "task": .string(entry.task),
                    "runs": .array(runs.map { .string(CeleryTimestamp.format($0)) }),
                ]
            })
    }

    private static func localTime(_ date: Date, in zone: TimeZone) -> String {
        let shifted = date.addingTimeInterval(Double(zone.secondsFromGMT(for: date)))
        let text = CeleryTimestamp.format(shifted)
        return String(text.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    /// Parses the command line, loads the schedule (refusing to start on a bad one: exit 2), and
    /// runs a ``Beat`` replica until SIGTERM/SIGINT. Returns the exit status: 0 after a clean stop,
    /// 1 when Redis cannot be reached, 2 for a usage error or a bad schedule.
    public static func run(program: String, arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "\(program) --schedule FILE [options]",
                summary: "Celeriac beat: sends periodic tasks; run any number of replicas, one leads.",
                options: ConnectionSettings.options + options)
        } catch {
            return error.status
        }
        let schedule: BeatSchedule
        let logLevel: LogLevel
        let count: Int
        var configuration = BeatConfiguration()
        do {
            schedule = try loadSchedule(commandLine)
            count = try commandLine.integer("count", in: 1...10_000) ?? 5
            if let name = commandLine.value("hostname") { configuration.nodeName = WorkerConfiguration.nodeName(name) }
            if let lease = try commandLine.duration("lease") {
                guard lease >= .milliseconds(300) else { throw UsageError("--lease must be at least 0.3 seconds") }
                configuration.lease = lease
            }
            guard let level = LogLevel(name: commandLine.value("loglevel") ?? "info") else {
                throw UsageError("--loglevel must be debug, info, warning or error")
            }
            logLevel = level
        } catch let error as UsageError {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            return ExitStatus.usage
        } catch {
            StandardStreams.printError("refusing to start: \(error)", program: program)
            return ExitStatus.usage
        }
        if commandLine.flag("dry-run") {
            StandardStreams.printLine(listing(schedule, count: count))
            return ExitStatus.success
        }
        guard let app = CommandLineTool.makeApp(commandLine, program: program) else { return ExitStatus.usage }
        let beat = Beat(app: app, schedule: schedule, configuration: configuration, logger: WorkerLogger(level: logLevel))
        return await CommandLineTool.runUntilStopped(
            program: program, app: app, failure: "cannot reach the broker", stop: { beat.shutdown() },
            run: { try await beat.run() })
    }
}
