import Foundation

/// `celeriac demo`: the main job end to end on this machine. Finds a Redis (or starts a private
/// `redis-server`), starts two `celeriac-worker` processes, generates 1,000,000 items, runs
/// `validation` and `analysis` as two jobs with a live progress bar each, prints both results
/// and a statistics table, and stops what it started. Ctrl-C cancels the jobs and cleans up.
public enum DemoCommand {
    static let validationParameters: JSONValue = [
        "rules": [
            "id": ["required": true, "type": "integer"],
            "name": ["required": true, "type": "string", "min_length": 1, "max_length": 80],
            "email": ["required": true, "type": "string", "format": "email"],
            "age": ["required": true, "type": "integer", "min": 18, "max": 120],
            "score": ["type": "number", "min": 0, "max": 100],
            "category": ["one_of": .array(DatasetGenerator.categories.map(JSONValue.string))],
        ],
        "id_field": "id",
        "samples": 5,
    ]
    static let analysisParameters: JSONValue = [
        "fields": ["age", "score", "amount"],
        "categories": [
            "rules": [["class": "big spender", "when": "amount >= 500"], ["class": "high score", "when": "score >= 90"]],
            "default": "regular",
        ],
    ]

    public static func run(program: String, arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "celeriac demo [--items N] [--workers N] [--broker URL]",
                summary: """
                    Runs the main job on this machine: finds a Redis at --broker (or starts a private redis-server),
                    starts worker processes, generates a dataset, runs validation and analysis jobs over it with live
                    progress, and prints the results and a statistics table. Ctrl-C cancels the jobs and stops
                    everything the demo started.
                    """,
                options: ConnectionSettings.options + [
                    CommandLineOption("items", short: "n", value: "N", help: "Items to generate (default 1000000)."),
                    CommandLineOption("workers", value: "N", help: "Worker processes to start, one slot each (default 2)."),
                    CommandLineOption("keep", help: "Keep the generated data and logs (the path is printed)."),
                ])
        } catch {
            return error.status
        }
        let items: Int
        let workers: Int
        do {
            items = try commandLine.integer("items", in: 1...100_000_000) ?? 1_000_000
            workers = try commandLine.integer("workers", in: 1...16) ?? 2
        } catch {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            return ExitStatus.usage
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-demo-\(CeleryID.random().prefix(8))").path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            StandardStreams.printError("cannot create \(directory): \(error)", program: program)
            return ExitStatus.failure
        }
        let processes = DemoProcesses(directory: directory)
        // Installed once the children run: they would inherit the blocked signals otherwise (and
        // a redis-server that never sees SIGTERM outlives the demo).
        var interrupt: InterruptWatch?
        defer {
            interrupt?.stop()
            processes.stopAll()
            if commandLine.flag("keep") {
                StandardStreams.printLine("data and logs kept in \(directory)")
            } else {
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        do {
            let settings = try ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
            let brokerURL = try await processes.redis(preferring: settings.brokerURL, explicit: commandLine.value("broker") != nil)
            let app = try CeleriacApp(brokerURL: brokerURL, backendURL: brokerURL == settings.brokerURL ? settings.backendURL : nil)
            try await processes.startWorkers(workers, brokerURL: brokerURL, app: app)
            say("\(workers) workers up (\(workers) slots)")
            let watch = InterruptWatch()
            interrupt = watch

            let path = (directory as NSString).appendingPathComponent("people.jsonl")
            let generated = ContinuousClock.now
            try DatasetGenerator(items: items, seed: 42).write(to: path)
            say(
                "generated \(JobProgressDisplay.grouped(items)) items in \(path) (\(String(format: "%.1f", (ContinuousClock.now - generated).timeInterval)) s)"
            )

            var finished: [(JobStatus, JSONValue?)] = []
            for (function, parameters) in [("validation", validationParameters), ("analysis", analysisParameters)] {
                guard !watch.interrupted else { break }
                let job = try await app.jobs.submit(JobSpec(dataset: .jsonLines(path: path), function: function, parameters: parameters))
                say("job \(job.id): \(function)")
                let status = try await follow(job, label: function, interrupt: watch)
                let result: JSONValue? = status.state == .completed ? try await job.result() : nil
                finished.append((status, result))
                if let result { StandardStreams.printLine(summary(function: function, result: result)) }
                if status.state != .completed { break }
            }
            if !finished.isEmpty { StandardStreams.printLine("\n" + statisticsTable(finished.map(\.0))) }
            await app.close()
            if watch.interrupted {
                say("interrupted: jobs cancelled, stopping workers")
                return ExitStatus.failure
            }
            return finished.allSatisfy({ $0.0.state == .completed }) ? ExitStatus.success : ExitStatus.failure
        } catch {
            StandardStreams.printError("\(error)", program: program)
            return ExitStatus.failure
        }
    }

    /// The URL without its password (`redis://:***@host`).
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url.range(of: "@", range: scheme.upperBound..<url.endIndex) else { return url }
        return String(url[..<scheme.upperBound]) + "***" + String(url[at.lowerBound...])
    }

    static func say(_ line: String) { StandardStreams.printLine("==> " + line) }

    /// Follows a job with a progress bar; on Ctrl-C cancels it and waits for the cancel to land.
    static func follow(_ job: Job, label: String, interrupt: InterruptWatch) async throws -> JobStatus {
        let display = JobProgressDisplay(label: label, quiet: false)
        var status = try await job.status()
        var cancelled = false
        while !status.state.isFinished {
            display.show(status)
            if interrupt.interrupted && !cancelled {
                display.finish()
                say("cancelling job \(job.id)")
                try await job.cancel()
                cancelled = true
            }
            try await Task.sleep(for: .milliseconds(200))
            status = try await job.status()
        }
        display.show(status)
        display.finish()
        return status
    }

    /// A few lines of a job's result for people.
    static func summary(function: String, result: JSONValue) -> String {
        var lines: [String] = []
        let items = result["items"]?.intValue ?? 0
        let failed = result["failed_items"]?.intValue ?? 0
        if function == "validation" {
            lines.append(
                "   valid \(JobProgressDisplay.grouped(result["valid"]?.intValue ?? 0)), invalid \(JobProgressDisplay.grouped(result["invalid"]?.intValue ?? 0)), unreadable \(JobProgressDisplay.grouped(failed)) of \(JobProgressDisplay.grouped(items))"
            )
            let rules = (result["by_rule"]?.objectValue.map(Array.init) ?? []).sorted { ($0.value.intValue ?? 0) > ($1.value.intValue ?? 0) }
            lines.append(
                "   failures by rule: "
                    + rules.prefix(6).map { "\($0.key) \(JobProgressDisplay.grouped($0.value.intValue ?? 0))" }.joined(separator: ", "))
        } else if function == "analysis", let fields = result["fields"]?.objectValue {
            let rows = fields.map { name, value -> [String] in
                func number(_ key: String) -> String { value[key]?.doubleValue.map { String(format: "%.2f", $0) } ?? "-" }
                return [
                    name, JobProgressDisplay.grouped(value["count"]?.intValue ?? 0), number("mean"), number("stddev"), number("min"),
                    number("p50"), number("p90"), number("p99"), number("max"), "\(value["anomalies"]?.intValue ?? 0)",
                ]
            }
            lines.append(
                JobCommand.table(["FIELD", "COUNT", "MEAN", "STDDEV", "MIN", "P50", "P90", "P99", "MAX", "ANOMALIES"], rows)
                    .split(separator: "\n").map { "   " + $0 }.joined(separator: "\n"))
            if let categories = result["categories"]?.objectValue {
                lines.append(
                    "   categories: " + categories.map { "\($0.key) \(JobProgressDisplay.grouped($0.value.intValue ?? 0))" }.joined(separator: ", "))
            }
        }
        return lines.joined(separator: "\n")
    }

    static func statisticsTable(_ statuses: [JobStatus]) -> String {
        JobCommand.table(
            ["JOB", "FUNCTION", "STATE", "TIME", "ITEMS/S", "PARTITIONS", "ITEMS", "FAILED ITEMS"],
            statuses.map { status in
                [
                    String(status.id.prefix(8)), status.function, status.state.rawValue, String(format: "%.2f s", status.elapsed),
                    JobProgressDisplay.rate(status.itemsPerSecond), "\(status.partitionsDone)/\(status.partitionsTotal)",
                    JobProgressDisplay.grouped(status.itemsProcessed), JobProgressDisplay.grouped(status.failedItems),
                ]
            })
    }
}
