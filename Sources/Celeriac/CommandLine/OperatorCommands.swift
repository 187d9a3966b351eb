import Foundation
import RESP

/// The operator's commands of `celeriac`: `status`, `inspect`, `control` (remote control of
/// Celeriac and Python workers), `queues`, `purge`, `dead` (the broker), `events` (live events).
public enum OperatorCommands {
    static let nodeOptions = [
        CommandLineOption("destination", short: "d", value: "NODES", help: "Only these workers (comma-separated names)."),
        CommandLineOption("timeout", short: "t", value: "SECONDS", help: "How long to wait for replies (default 1)."),
        CommandLineOption("json", help: "Print the replies as one JSON object, by worker."),
    ]

    /// `celeriac status`: the workers that answer a ping.
    public static func status(program: String, arguments: [String]) async -> Int32 {
        await withRemoteControl(
            program: program, arguments: arguments, usage: "celeriac status [-d NODES] [--timeout S]",
            summary: "Lists the workers (Celeriac or Python) that answer a ping."
        ) { control, commandLine, destination, timeout in
            let replies = try await control.broadcast("ping", destination: destination, timeout: timeout, limit: destination?.count)
            guard !replies.isEmpty else { throw NoReplies() }
            if commandLine.flag("json") {
                StandardStreams.printLine(JSONValue.object(replies).serializedString)
            } else {
                for node in replies.keys.sorted() { StandardStreams.printLine("->  \(node): OK") }
                StandardStreams.printLine("\n\(replies.count) node\(replies.count == 1 ? "" : "s") online.")
            }
        }
    }

    /// `celeriac inspect METHOD [ARG...]`: Celery's inspect commands (`active`, `reserved`,
    /// `scheduled`, `registered`, `revoked`, `stats`, `active_queues`, `conf`, `query_task ID...`, ...).
    public static func inspect(program: String, arguments: [String]) async -> Int32 {
        await withRemoteControl(
            program: program, arguments: arguments, usage: "celeriac inspect <method> [ARG...] [-d NODES] [--json]",
            summary:
                "Asks workers (Celeriac or Python) for their state: ping, active, reserved, scheduled, registered, revoked, stats, active_queues, conf, clock, query_task ID..."
        ) { control, commandLine, destination, timeout in
            var positionals = commandLine.positionals
            guard !positionals.isEmpty else { throw UsageError("give the inspect method, e.g. 'active'") }
            let method = positionals.removeFirst()
            let arguments: JSONObject = method == "query_task" ? ["ids": .array(positionals.map(JSONValue.string))] : [:]
            try await printReplies(
                control.broadcast(method, arguments: arguments, destination: destination, timeout: timeout, limit: destination?.count),
                json: commandLine.flag("json"))
        }
    }

    /// `celeriac control METHOD [ARG...]`: Celery's control commands.
    public static func control(program: String, arguments: [String]) async -> Int32 {
        await withRemoteControl(
            program: program, arguments: arguments, usage: "celeriac control <method> [ARG...] [-d NODES] [--json]",
            summary: """
                Sends a control command to workers (Celeriac or Python): add_consumer QUEUE, cancel_consumer QUEUE,
                rate_limit TASK RATE, time_limit TASK SOFT HARD, enable_events, disable_events, heartbeat, shutdown,
                pool_grow N, pool_shrink N. (Revoke with 'celeriac revoke'.)
                """
        ) { control, commandLine, destination, timeout in
            var positionals = commandLine.positionals
            guard !positionals.isEmpty else { throw UsageError("give the control method, e.g. 'add_consumer'") }
            let method = positionals.removeFirst()
            let arguments = try controlArguments(method, positionals)
            let isCast = method == "heartbeat" || method == "shutdown"
            let replies = try await control.broadcast(
                method, arguments: arguments, destination: destination, timeout: timeout, limit: destination?.count,
                reply: !isCast)
            if isCast {
                StandardStreams.printLine("sent \(method)")
            } else {
                guard !replies.isEmpty else { throw NoReplies() }
                try printReplies(replies, json: commandLine.flag("json"))
            }
        }
    }

    /// The arguments Celery's control client sends for `method` with positional `values`.
    static func controlArguments(_ method: String, _ values: [String]) throws -> JSONObject {
        func need(_ count: Int, _ names: String) throws {
            guard values.count == count else { throw UsageError("\(method) takes \(names)") }
        }
        switch method {
        case "add_consumer", "cancel_consumer":
            try need(1, "a queue name")
            return ["queue": .string(values[0])]
        case "rate_limit":
            try need(2, "a task name and a rate, e.g. 10/s")
            return ["task_name": .string(values[0]), "rate_limit": .string(values[1])]
        case "time_limit":
            try need(3, "a task name, a soft and a hard limit in seconds")
            guard let soft = Double(values[1]), let hard = Double(values[2]) else {
                throw UsageError("time_limit limits must be numbers of seconds")
            }
            return ["task_name": .string(values[0]), "soft": .double(soft), "hard": .double(hard)]
        case "pool_grow", "pool_shrink":
            try need(1, "a number")
            guard let count = Int(values[0]) else { throw UsageError("\(method) takes a number") }
            return ["n": .integer(count)]
        default:
            try need(0, "no arguments")
            return [:]
        }
    }

    private struct NoReplies: Error, CustomStringConvertible {
        var description: String { "no worker replied within the timeout" }
    }

    private static func printReplies(_ replies: JSONObject, json: Bool) throws {
        guard !replies.isEmpty else { throw NoReplies() }
        if json {
            StandardStreams.printLine(JSONValue.object(replies).serializedString)
            return
        }
        for node in replies.keys.sorted() {
            StandardStreams.printLine("->  \(node): \(replies[node]?["error"] == nil ? "OK" : "ERROR")")
            StandardStreams.printLine("    " + (replies[node] ?? .null).serializedString)
        }
    }

    /// Parses the common options, connects, runs `body` with a client; exit 0, 1 (no replies,
    /// Redis errors) or 2 (usage).
    private static func withRemoteControl(
        program: String, arguments: [String], usage: String, summary: String,
        _ body: (ControlClient, ParsedCommandLine, [String]?, Duration) async throws -> Void
    ) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: usage, summary: summary, options: ConnectionSettings.options + nodeOptions)
        } catch {
            return error.status
        }
        let destination = commandLine.list("destination")
        let timeout: Duration
        do {
            timeout = .seconds(try commandLine.integer("timeout", in: 1...3600) ?? 1)
        } catch {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            return ExitStatus.usage
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            try await body(ControlClient(app: app), commandLine, destination, timeout)
            return ExitStatus.success
        }
    }

    // MARK: - Broker

    /// `celeriac queues`: waiting messages per queue, and the unacked, scheduled and dead counts.
    public static func queues(program: String, arguments: [String]) async -> Int32 {
        await withAdmin(
            program: program, arguments: arguments, usage: "celeriac queues [-Q QUEUE,...] [--json]",
            summary: "Lists the queues (from kombu's bindings, plus -Q) with their waiting messages.",
            options: [
                CommandLineOption("queues", short: "Q", value: "QUEUES", help: "Also list these queues."),
                CommandLineOption("json", help: "Print JSON."),
            ]
        ) { admin, commandLine in
            let extra = commandLine.list("queues") ?? []
            let lengths = try await admin.queueLengths(including: extra)
            let (unacked, scheduled, dead) = try await admin.bookkeeping()
            if commandLine.flag("json") {
                var queues = JSONObject()
                for length in lengths {
                    var priorities = JSONObject()
                    for (step, count) in zip(QueueKeys.prioritySteps, length.byPriority) { priorities[String(step)] = .integer(count) }
                    queues[length.queue] = ["messages": .integer(length.messages), "by_priority": .object(priorities)]
                }
                let value: JSONValue = [
                    "queues": .object(queues), "unacked": .integer(unacked), "scheduled": .integer(scheduled),
                    "dead": .integer(dead),
                ]
                StandardStreams.printLine(value.serializedString)
                return
            }
            let width = max(5, lengths.map(\.queue.count).max() ?? 0)
            func row(_ cells: [String]) -> String {
                cells[0].padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                    + cells.dropFirst().map { String(repeating: " ", count: max(0, 8 - $0.count)) + $0 }.joined(separator: " ")
            }
            StandardStreams.printLine(row(["QUEUE", "WAITING", "P0", "P3", "P6", "P9"]))
            for length in lengths {
                StandardStreams.printLine(row([length.queue, String(length.messages)] + length.byPriority.map(String.init)))
            }
            StandardStreams.printLine("(held by workers: \(unacked); waiting for their ETA: \(scheduled); dead letters: \(dead))")
        }
    }

    /// `celeriac purge QUEUE... [-f]`: deletes the waiting messages of queues, after asking on a
    /// terminal (without one, `-f` is required).
    public static func purge(program: String, arguments: [String]) async -> Int32 {
        await withAdmin(
            program: program, arguments: arguments, usage: "celeriac purge QUEUE... [-f]",
            summary: "Deletes every waiting message of the queues (not those held by workers). Cannot be undone.",
            options: [
                CommandLineOption("queues", short: "Q", value: "QUEUES", help: "More queues (comma-separated)."),
                CommandLineOption("force", short: "f", help: "Do not ask (required when not on a terminal)."),
            ]
        ) { admin, commandLine in
            let queues = commandLine.positionals + (commandLine.list("queues") ?? [])
            guard !queues.isEmpty else { throw UsageError("name the queues to purge") }
            if !commandLine.flag("force") {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw UsageError("purging cannot be undone: add -f (or run it on a terminal to be asked)")
                }
                let waiting = try await admin.queueLengths(including: queues).filter { queues.contains($0.queue) }
                let total = waiting.map(\.messages).reduce(0, +)
                StandardStreams.print("Purge \(total) waiting message(s) from \(queues.joined(separator: ", "))? [y/N] ")
                guard let answer = readLine()?.lowercased(), answer == "y" || answer == "yes" else {
                    StandardStreams.printLine("nothing purged")
                    return
                }
            }
            for queue in queues {
                StandardStreams.printLine("purged \(try await admin.purge(queue)) message(s) from \(queue)")
            }
        }
    }

    /// `celeriac dead list|retry|drop [--task-id ID]`: the dead-letter list.
    public static func dead(program: String, arguments: [String]) async -> Int32 {
        await withAdmin(
            program: program, arguments: arguments, usage: "celeriac dead list|retry|drop [--task-id ID] [--json]",
            summary: """
                The messages workers could not run (undecodable, unknown task): 'list' shows them, 'retry' puts them
                back on their queues, 'drop' deletes them; all of them, or those of --task-id.
                """,
            options: [
                CommandLineOption("task-id", value: "ID", help: "Only the entries of this task id."),
                CommandLineOption("json", help: "list: print the entries as JSON lines."),
            ]
        ) { admin, commandLine in
            let taskID = commandLine.value("task-id")
            let matches: (DeadLetterEntry) -> Bool = { taskID == nil || $0.taskID == taskID }
            switch commandLine.positionals.first {
            case "list":
                for entry in try await admin.deadLetters() where matches(entry) {
                    if commandLine.flag("json") {
                        StandardStreams.printLine(String(decoding: entry.encoded(), as: UTF8.self))
                    } else {
                        StandardStreams.printLine(
                            TerminalText.safe(
                                "\(CeleryTimestamp.format(entry.time))  \(entry.taskID ?? "-")  \(entry.taskName ?? "-")  "
                                    + "queue=\(entry.queue ?? "-")  worker=\(entry.worker)  \(entry.reason)"))
                    }
                }
            case "retry":
                StandardStreams.printLine("retried \(try await admin.retryDeadLetters(where: matches)) message(s)")
            case "drop":
                StandardStreams.printLine("dropped \(try await admin.dropDeadLetters(where: matches)) entr(ies)")
            default:
                throw UsageError("give 'list', 'retry' or 'drop'")
            }
        }
    }

    private static func withAdmin(
        program: String, arguments: [String], usage: String, summary: String, options: [CommandLineOption],
        _ body: (BrokerAdmin, ParsedCommandLine) async throws -> Void
    ) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: usage, summary: summary, options: ConnectionSettings.options + options)
        } catch {
            return error.status
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            try await body(BrokerAdmin(broker: app.broker), commandLine)
            return ExitStatus.success
        }
    }

    // MARK: - Events

    /// `celeriac events [--count N]`: prints live events (Celeriac and Python workers, producers)
    /// one per line until interrupted or N were printed.
    public static func events(program: String, arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "celeriac events [--type PREFIX] [--count N] [--json]",
                summary: "Prints the events workers send (worker-heartbeat, task-succeeded, ...) as they come.",
                options: ConnectionSettings.options + [
                    CommandLineOption("count", value: "N", help: "Stop after N events."),
                    CommandLineOption("type", value: "PREFIX", help: "Only events whose type starts so, e.g. task- or worker-heartbeat."),
                    CommandLineOption("json", help: "Print each event as its JSON object."),
                ])
        } catch {
            return error.status
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            let count = try commandLine.integer("count", in: 1...100_000_000)
            let prefix = commandLine.value("type") ?? ""
            let redis = app.broker.pool.redis
            let subscriber = try RedisSubscriber(redis)
            defer { subscriber.close() }
            try await subscriber.psubscribe(["/\(redis.database).celeryev/*"])
            var printed = 0
            for await event in subscriber.events {
                guard case .message(let message) = event else { continue }
                for decoded in (try? CeleryEvent.decodeAll(message.payload)) ?? [] where decoded.type.hasPrefix(prefix) {
                    StandardStreams.printLine(commandLine.flag("json") ? JSONValue.object(decoded.body).serializedString : line(decoded))
                    printed += 1
                    if let count, printed >= count { return ExitStatus.success }
                }
            }
            return ExitStatus.success
        }
    }

    /// `2026-11-23T12:00:00.000000+00:00 w1@host task-succeeded uuid=... result=5 runtime=0.001`.
    static func line(_ event: CeleryEvent) -> String {
        var parts = [
            CeleryTimestamp.format(Date(timeIntervalSince1970: event.timestamp)), event.hostname, event.type,
        ]
        for (key, value) in event.fields where !["sw_ident", "sw_ver", "sw_sys", "loadavg", "traceback"].contains(key) {
            parts.append("\(key)=\(value.stringValue ?? value.serializedString)")
        }
        return TerminalText.safe(parts.joined(separator: " "))
    }
}
