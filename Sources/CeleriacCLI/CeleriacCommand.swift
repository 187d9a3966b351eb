import Celeriac
import Foundation

/// `celeriac`: the command-line tool for operating a Celeriac (or Celery) deployment.
@main
struct CeleriacCommand {
    static let program = "celeriac"

    static let usage = """
        Usage: celeriac <command> [options]

        Commands:
          demo        The main job end to end: Redis, two workers, 1,000,000 items, validation + analysis.
          job         Map-reduce jobs over datasets: run, status, result, cancel, list, stats.
          dataset     Generate test data: 'celeriac dataset generate --items N --output PATH'.
          ping        Check that the broker (and the result backend, if different) answer.
          call        Send a task by name; with --wait, print its result.
          result      Print a task's state and result.
          apply       Apply a chain, group or chord given as Celery's signature JSON; --wait --progress.
          progress    Print how far a running chord (or a saved group) is.
          status      List the workers that answer a ping (Celeriac or Python).
          inspect     Ask workers for their state: active, reserved, scheduled, registered, stats, ...
          control     Send a control command: add_consumer, cancel_consumer, rate_limit, enable_events, ...
          queues      List the queues with their waiting messages (and unacked, scheduled, dead counts).
          purge       Delete the waiting messages of queues (-Q ... --yes).
          dead        List, retry or drop the messages workers could not run.
          events      Print live events (worker heartbeats, task states) as they come.
          watch       Follow a task, a running chord or a saved group until done, with a progress bar.
          revoke      Revoke tasks by id (no worker starts them; --terminate stops running ones).
          schedule    Print the next run times of a beat schedule file.
          beat        Run beat (the same as celeriac-beat), e.g. 'celeriac beat --schedule FILE --dry-run'.

        Options:
        \(ParsedCommandLine.helpText(for: [.help, .version]))

        Run 'celeriac <command> --help' for a command's options.
        """

    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        guard let first = arguments.first else {
            StandardStreams.printError("missing command\n\n\(usage)", program: program)
            exit(ExitStatus.usage)
        }
        switch first {
        case "-h", "--help", "help":
            StandardStreams.printLine(usage)
        case "--version", "version":
            StandardStreams.printLine(CeleriacVersion.line(for: program))
        case "demo":
            arguments.removeFirst()
            exit(await DemoCommand.run(program: "\(program) demo", arguments: arguments))
        case "job":
            arguments.removeFirst()
            exit(await JobCommand.main(program: "\(program) job", arguments: arguments))
        case "dataset":
            arguments.removeFirst()
            exit(await DatasetCommand.main(program: "\(program) dataset", arguments: arguments))
        case "ping":
            arguments.removeFirst()
            await ping(arguments)
        case "call":
            arguments.removeFirst()
            exit(await call(arguments))
        case "result":
            arguments.removeFirst()
            exit(await result(arguments))
        case "apply":
            arguments.removeFirst()
            exit(await CanvasCommand.apply(program: "\(program) apply", arguments: arguments))
        case "progress":
            arguments.removeFirst()
            exit(await CanvasCommand.progress(program: "\(program) progress", arguments: arguments))
        case "watch":
            arguments.removeFirst()
            exit(await CanvasCommand.watch(program: "\(program) watch", arguments: arguments))
        case "schedule":
            arguments.removeFirst()
            exit(schedule(arguments))
        case "status", "inspect", "control", "queues", "purge", "dead", "events":
            arguments.removeFirst()
            let name = "\(program) \(first)"
            let commands: [String: (String, [String]) async -> Int32] = [
                "status": OperatorCommands.status, "inspect": OperatorCommands.inspect,
                "control": OperatorCommands.control, "queues": OperatorCommands.queues,
                "purge": OperatorCommands.purge, "dead": OperatorCommands.dead, "events": OperatorCommands.events,
            ]
            exit(await commands[first]?(name, arguments) ?? ExitStatus.usage)
        case "revoke":
            arguments.removeFirst()
            exit(await revoke(arguments))
        case "beat":
            arguments.removeFirst()
            exit(await BeatCommand.run(program: "celeriac beat", arguments: arguments))
        default:
            StandardStreams.printError("unknown command '\(first)'; run 'celeriac --help'", program: program)
            exit(ExitStatus.usage)
        }
    }

    /// `celeriac revoke <id>... [--terminate]`: revokes the tasks on every worker, now and later.
    static func revoke(_ arguments: [String]) async -> Int32 {
        let options =
            ConnectionSettings.options + [
                CommandLineOption("terminate", help: "Also stop the tasks where they run now."),
                CommandLineOption("group", value: "GROUP_ID", help: "Revoke every member of a saved group (GroupResult.save())."),
                CommandLineOption("json", help: "Print the revoked ids as a JSON array."),
            ]
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: "\(program) revoke", usage: "celeriac revoke <task id>... | --group GROUP_ID [--terminate]",
                summary: "Revokes tasks: no worker (Celeriac or Python) starts them; kept in Redis for 3 hours.",
                options: options)
        } catch {
            return error.status
        }
        let groupID = commandLine.value("group")
        guard !commandLine.positionals.isEmpty || groupID != nil else {
            StandardStreams.printError("give at least one task id or --group; run 'celeriac revoke --help'", program: program)
            return ExitStatus.usage
        }
        let settings = connectionSettingsOrExit(commandLine)
        do {
            _ = try await CommandLineTool.ping(settings.brokerURL, role: "broker", program: program)
        } catch {
            return error.status
        }
        var ids = commandLine.positionals
        do {
            let app = try CeleriacApp(brokerURL: settings.brokerURL, backendURL: settings.backendURL)
            try await app.revoke(ids, terminate: commandLine.flag("terminate"))
            if let groupID {
                guard let members = try await app.revokeGroup(groupID, terminate: commandLine.flag("terminate")) else {
                    await app.close()
                    StandardStreams.printError("no group is saved under \(groupID)", program: program)
                    return ExitStatus.failure
                }
                ids += members
            }
            await app.close()
        } catch {
            StandardStreams.printError("cannot revoke: \(error)", program: program)
            return ExitStatus.failure
        }
        if commandLine.flag("json") {
            StandardStreams.printLine(JSONValue.array(ids.map(JSONValue.string)).serializedString)
        } else {
            for id in ids {
                StandardStreams.printLine("revoked \(id)\(commandLine.flag("terminate") ? " (terminate)" : "")")
            }
        }
        return ExitStatus.success
    }

    /// `celeriac schedule FILE [--count N]`: the next run times of each entry, like `celeriac-beat --dry-run`.
    static func schedule(_ arguments: [String]) -> Int32 {
        let options = [
            CommandLineOption("count", value: "N", help: "Run times per entry (default 5)."),
            CommandLineOption("json", help: "Print the run times as JSON."),
        ]
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: "\(program) schedule", usage: "celeriac schedule FILE [--count N]",
                summary: "Prints the next run times of each entry of a beat schedule file (no Redis needed).",
                options: options)
        } catch {
            return error.status
        }
        do {
            guard commandLine.positionals.count == 1, let path = commandLine.positionals.first else {
                throw UsageError("give exactly one schedule file")
            }
            let count = try commandLine.integer("count", in: 1...10_000) ?? 5
            let schedule = try BeatSchedule(contentsOf: path)
            StandardStreams.printLine(
                commandLine.flag("json")
                    ? BeatCommand.listingJSON(schedule, count: count).serializedString : BeatCommand.listing(schedule, count: count))
            return ExitStatus.success
        } catch let error as UsageError {
            StandardStreams.printError("\(error); run 'celeriac schedule --help'", program: program)
            return ExitStatus.usage
        } catch {
            StandardStreams.printError("\(error)", program: program)
            return ExitStatus.usage
        }
    }

    static func ping(_ arguments: [String]) async {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: "\(program) ping", usage: "celeriac ping [--broker URL] [--backend URL]",
                summary: """
                    Connects to the broker and, if it is another server or database, the result backend,
                    sends PING and prints the reply, the Redis version and the round-trip time.
                    """,
                options: ConnectionSettings.options + [
                    CommandLineOption("timeout", value: "SECONDS", help: "Connect and reply timeout (default 5)."),
                    CommandLineOption("json", help: "Print the replies as JSON."),
                ])
        } catch {
            exit(error.status)
        }
        let timeout: Int
        do {
            timeout = try commandLine.integer("timeout", in: 1...3600) ?? 5
        } catch {
            StandardStreams.printError("\(error); run 'celeriac ping --help'", program: program)
            exit(ExitStatus.usage)
        }
        let settings = connectionSettingsOrExit(commandLine)
        var targets = [("broker", settings.brokerURL)]
        if settings.backendURL != settings.brokerURL { targets.append(("backend", settings.backendURL)) }
        var replies = JSONObject()
        for (role, url) in targets {
            let report: RedisPing.Report
            do {
                report = try await CommandLineTool.ping(url, role: role, program: program, timeout: .seconds(timeout))
            } catch {
                exit(error.status)
            }
            let milliseconds =
                Double(report.roundTrip.components.seconds) * 1000
                + Double(report.roundTrip.components.attoseconds) / 1e15
            if commandLine.flag("json") {
                replies[role] = [
                    "reply": .string(report.reply), "server": .string(report.server),
                    "redis_version": .string(report.serverVersion), "milliseconds": .double(milliseconds),
                ]
            } else {
                StandardStreams.printLine(
                    "\(role): \(report.reply) from \(report.server) (Redis \(report.serverVersion), "
                        + String(format: "%.2f ms)", milliseconds))
            }
        }
        if commandLine.flag("json") { StandardStreams.printLine(JSONValue.object(replies).serializedString) }
    }

    /// Runs `celeriac call`; returns the exit status (the app is closed before exiting).
    static func call(_ arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: "\(program) call", usage: "celeriac call <task> [options]",
                summary: """
                    Sends the task <task> to the broker and prints its id. With --wait, waits for the result
                    and prints it as JSON; a failed or revoked task prints its error and exits with 1.
                    """,
                options: ConnectionSettings.options + CallArguments.options)
        } catch {
            return error.status
        }
        let call: CallArguments
        do {
            call = try CallArguments(commandLine)
        } catch {
            StandardStreams.printError("\(error); run 'celeriac call --help'", program: program)
            exit(ExitStatus.usage)
        }
        let app = makeApp(commandLine)
        let status = await send(call, with: app)
        await app.close()
        return status
    }

    private static func send(_ call: CallArguments, with app: CeleriacApp) async -> Int32 {
        let result: AsyncResult
        do {
            result = try await app.send(call.taskName, args: call.args, kwargs: call.kwargs, options: call.options)
        } catch {
            StandardStreams.printError("cannot send the task: \(error)", program: program)
            return ExitStatus.failure
        }
        StandardStreams.printLine(result.id)
        guard call.wait else { return ExitStatus.success }
        do {
            StandardStreams.printLine(try await result.get(timeout: call.timeout).serializedString)
            return ExitStatus.success
        } catch let failure as TaskFailure {
            StandardStreams.printError("task \(result.id) failed: \(failure)", program: program)
        } catch {
            StandardStreams.printError("\(error)", program: program)
        }
        return ExitStatus.failure
    }

    /// Runs `celeriac result`; returns the exit status (the app is closed before exiting).
    static func result(_ arguments: [String]) async -> Int32 {
        let options =
            ConnectionSettings.options + [
                CommandLineOption("wait", short: "w", help: "Wait until the task is ready (SUCCESS, FAILURE, REVOKED)."),
                CommandLineOption("timeout", value: "SECONDS", help: "With --wait: give up after this long (exit 1)."),
                CommandLineOption("json", help: "Print the stored value as JSON, as Celery stores it."),
            ]
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: "\(program) result", usage: "celeriac result <task id> [--wait] [--json]",
                summary: "Prints the state of a task and its result, progress meta or error.", options: options)
        } catch {
            return error.status
        }
        guard commandLine.positionals.count == 1, let id = commandLine.positionals.first else {
            StandardStreams.printError("expected one task id; run 'celeriac result --help'", program: program)
            exit(ExitStatus.usage)
        }
        let timeout: Duration?
        do {
            timeout = try commandLine.integer("timeout", in: 0...86_400).map { .seconds($0) }
        } catch {
            StandardStreams.printError("\(error); run 'celeriac result --help'", program: program)
            exit(ExitStatus.usage)
        }
        let app = makeApp(commandLine)
        let status = await show(id, wait: commandLine.flag("wait"), timeout: timeout, json: commandLine.flag("json"), with: app)
        await app.close()
        return status
    }

    private static func show(_ id: String, wait: Bool, timeout: Duration?, json: Bool, with app: CeleriacApp) async
        -> Int32
    {
        do {
            let meta: TaskResultMeta
            if wait {
                meta = try await app.backend.waitForReadyState(of: id, timeout: timeout)
            } else {
                meta =
                    try await app.backend.meta(for: id)
                    ?? TaskResultMeta(taskID: id, state: .pending, result: nil)
            }
            if json {
                StandardStreams.printLine(JSONValue.object(meta.fields).serializedString)
            } else {
                StandardStreams.printLine("state: " + TerminalText.safe("\(meta.state)"))
                if let failure = meta.failure {
                    StandardStreams.printLine("error: " + TerminalText.safe("\(failure)", keepNewlines: true))
                } else {
                    StandardStreams.printLine("result: \(meta.result.serializedString)")
                }
            }
            return meta.state == .failure || meta.state == .revoked ? ExitStatus.failure : ExitStatus.success
        } catch {
            StandardStreams.printError("\(error)", program: program)
            return ExitStatus.failure
        }
    }

    /// The broker and backend of the options and environment; a bad password file exits with 2.
    static func connectionSettingsOrExit(_ commandLine: ParsedCommandLine) -> ConnectionSettings {
        do {
            return try ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
        } catch {
            StandardStreams.printError("\(error)", program: program)
            exit(ExitStatus.usage)
        }
    }

    /// The producer for `call`/`result`: broker and backend from options/environment; a short
    /// acquire timeout, so an unreachable Redis is reported in about two seconds.
    static func makeApp(_ commandLine: ParsedCommandLine) -> CeleriacApp {
        let settings = connectionSettingsOrExit(commandLine)
        do {
            return try CeleriacApp(
                brokerURL: settings.brokerURL, backendURL: settings.backendURL,
                pool: .init(maximumConnections: 2, acquireTimeout: .seconds(2)),
                publishRetry: RetryPolicy(maxRetries: 0))
        } catch {
            StandardStreams.printError("\(error)", program: program)
            exit(ExitStatus.usage)
        }
    }
}
