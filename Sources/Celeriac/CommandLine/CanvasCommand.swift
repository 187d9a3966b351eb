import Foundation

/// `celeriac apply` and `celeriac progress`: canvases from the command line.
public enum CanvasCommand {
    /// The options of `celeriac apply` (besides `--broker`/`--backend`).
    static let applyOptions: [CommandLineOption] = [
        CommandLineOption("wait", short: "w", help: "Wait for the result and print it as JSON."),
        CommandLineOption("progress", help: "With --wait: print the group's or chord's progress while it runs."),
        CommandLineOption("timeout", value: "SECONDS", help: "With --wait: give up after this long (exit 1)."),
    ]

    /// `celeriac apply SIGNATURE [--wait [--progress]]`: applies a canvas given as Celery's
    /// signature JSON (or `@FILE`), prints what to wait on, and with `--wait` its result.
    public static func apply(program: String, arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "celeriac apply '<signature JSON>'|@FILE [--wait [--progress]]",
                summary: """
                    Applies a task, chain, group or chord given as Celery's signature dict, e.g.
                    '{"task": "celery.chord", "kwargs": {"header": [...], "body": {...}}, "subtask_type": "chord"}'.
                    Prints the id to wait on (task, last chain step, group id, chord body and group id).
                    """,
                options: ConnectionSettings.options + applyOptions)
        } catch {
            return error.status
        }
        let signature: Signature
        let timeout: Duration?
        do {
            guard commandLine.positionals.count == 1, let text = commandLine.positionals.first else {
                throw UsageError("give one signature (JSON text, or @FILE)")
            }
            let json = text.hasPrefix("@") ? try String(contentsOfFile: String(text.dropFirst()), encoding: .utf8) : text
            signature = try Signature(try JSONValue(parsing: json))
            timeout = try commandLine.integer("timeout", in: 0...86_400).map { .seconds($0) }
        } catch let error as UsageError {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            return ExitStatus.usage
        } catch {
            StandardStreams.printError("not a signature: \(error)", program: program)
            return ExitStatus.usage
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            await apply(
                signature, with: app, wait: commandLine.flag("wait"), progress: commandLine.flag("progress"), timeout: timeout,
                program: program)
        }
    }

    private static func apply(
        _ signature: Signature, with app: CeleriacApp, wait: Bool, progress: Bool, timeout: Duration?, program: String
    ) async -> Int32 {
        let result: CanvasResult
        do {
            result = try await app.apply(signature)
        } catch {
            StandardStreams.printError("cannot apply: \(error)", program: program)
            return ExitStatus.failure
        }
        switch result {
        case .task(let task): StandardStreams.printLine(task.id)
        case .group(let group): StandardStreams.printLine("group \(group.id) (\(group.results.count) tasks)")
        case .chord(let chord):
            let header = chord.header
            StandardStreams.printLine("\(chord.body.id) (chord body; group \(header.id), \(header.results.count) header tasks)")
        }
        guard wait else { return ExitStatus.success }
        let reporter = progress ? Task { await report(result) } : nil
        let outcome: Result<JSONValue, any Error>
        do {
            outcome = .success(try await result.get(timeout: timeout))
        } catch {
            outcome = .failure(error)
        }
        // The last progress line comes before the result.
        reporter?.cancel()
        await reporter?.value
        do {
            StandardStreams.printLine(try outcome.get().serializedString)
            return ExitStatus.success
        } catch let failure as TaskFailure {
            StandardStreams.printError("\(result.id) failed: \(failure)", program: program)
        } catch {
            StandardStreams.printError("\(error)", program: program)
        }
        return ExitStatus.failure
    }

    /// Prints `progress <done>/<total>` whenever it changes, every 200 ms, until cancelled.
    private static func report(_ result: CanvasResult) async {
        var last: CanvasProgress?
        while !Task.isCancelled {
            let now: CanvasProgress?
            switch result {
            case .group(let group): now = try? await group.progress()
            case .chord(let chord): now = try? await chord.progress()
            case .task: now = nil
            }
            if let now, now != last, !Task.isCancelled {
                StandardStreams.printLine("progress \(now)")
                last = now
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// `celeriac progress GROUP_ID`: how far a running chord is (from its counter), or a saved group.
    public static func progress(program: String, arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "celeriac progress <group id> [--json]",
                summary: "Prints '<completed>/<total>' of a chord while it runs, or of a group saved with GroupResult.save().",
                options: ConnectionSettings.options + [CommandLineOption("json", help: "Print the progress as JSON.")])
        } catch {
            return error.status
        }
        guard commandLine.positionals.count == 1, let groupID = commandLine.positionals.first else {
            StandardStreams.printError("give one group id; run '\(program) --help'", program: program)
            return ExitStatus.usage
        }
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            try await printProgress(of: groupID, with: app, json: commandLine.flag("json"), program: program)
        }
    }

    private static func printProgress(of groupID: String, with app: CeleriacApp, json: Bool, program: String) async throws
        -> Int32
    {
        func show(_ kind: String, _ completed: Int?, _ total: Int?, done: Bool) {
            if json {
                var object: JSONObject = ["kind": .string(kind), "id": .string(groupID), "done": .bool(done)]
                if let completed, let total {
                    object["completed"] = .integer(completed)
                    object["total"] = .integer(total)
                }
                StandardStreams.printLine(JSONValue.object(object).serializedString)
            } else if let completed, let total {
                StandardStreams.printLine("\(kind) \(groupID): \(completed)/\(total)")
            } else {
                StandardStreams.printLine("\(kind) \(groupID): done (body sent)")
            }
        }
        let counter = try await app.backend.chords.progress(groupID: groupID)
        if let total = counter.total {
            show("chord", counter.recorded, total, done: false)
        } else if counter.bodySent {
            show("chord", nil, nil, done: true)
        } else if let group = try await GroupResult.restore(groupID, backend: app.backend) {
            let progress = try await group.progress()
            show("group", progress.completed, progress.total, done: progress.completed == progress.total)
        } else {
            StandardStreams.printError("no running chord or saved group \(groupID)", program: program)
            return ExitStatus.failure
        }
        return ExitStatus.success
    }

    /// `celeriac watch ID`: follows a task (its state, and a bar for PROGRESS `current`/`total`
    /// meta), a running chord or a saved group (a bar of finished tasks) until it is done.
    public static func watch(program: String, arguments: [String]) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "celeriac watch <task id | group id> [--timeout S] [--json]",
                summary: "Follows a task, a running chord or a saved group until it is done, with a progress bar.",
                options: ConnectionSettings.options + [
                    CommandLineOption("timeout", value: "SECONDS", help: "Give up after this long (exit 1)."),
                    CommandLineOption("json", help: "Print each change as a JSON line instead of a bar."),
                ])
        } catch {
            return error.status
        }
        guard commandLine.positionals.count == 1, let id = commandLine.positionals.first else {
            StandardStreams.printError("give one task or group id; run '\(program) --help'", program: program)
            return ExitStatus.usage
        }
        let timeout: Duration?
        do {
            timeout = try commandLine.integer("timeout", in: 1...86_400).map { .seconds($0) }
        } catch {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            return ExitStatus.usage
        }
        let display = ProgressDisplay(json: commandLine.flag("json"))
        return await CommandLineTool.withApp(commandLine, program: program) { app in
            do {
                return try await follow(id, with: app, display: display, until: timeout.map { ContinuousClock.now + $0 })
            } catch {
                display.finish()  // end the bar's line before the error
                throw error
            }
        }
    }

    private static func follow(
        _ id: String, with app: CeleriacApp, display: ProgressDisplay, until deadline: ContinuousClock.Instant?
    ) async throws -> Int32 {
        let group = try await GroupResult.restore(id, backend: app.backend)
        let counter = try await app.backend.chords.progress(groupID: id)
        let isChord = counter.total != nil || counter.bodySent
        while deadline.map({ ContinuousClock.now < $0 }) ?? true {
            if isChord {
                let now = try await app.backend.chords.progress(groupID: id)
                if now.bodySent {
                    display.show(kind: "chord", id: id, state: "BODY SENT", completed: nil, total: nil, done: true)
                    return ExitStatus.success
                }
                display.show(kind: "chord", id: id, state: "RUNNING", completed: now.recorded, total: now.total, done: false)
            } else if let group {
                let progress = try await group.progress()
                let done = progress.completed == progress.total
                let failed = done ? try await group.failed() : false
                display.show(
                    kind: "group", id: id, state: done ? (failed ? "FAILURE" : "SUCCESS") : "RUNNING",
                    completed: progress.completed, total: progress.total, done: done)
                if done { return failed ? ExitStatus.failure : ExitStatus.success }
            } else {
                let meta = try await app.backend.meta(for: id)
                let state = meta?.state ?? .pending
                let info = meta?.result
                display.show(
                    kind: "task", id: id, state: state.rawValue, completed: info?["current"]?.intValue,
                    total: info?["total"]?.intValue, done: state.isReady)
                if state.isReady { return state == .success ? ExitStatus.success : ExitStatus.failure }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        display.finish()
        StandardStreams.printError("\(id) was not done within the timeout", program: "celeriac watch")
        return ExitStatus.failure
    }
}

/// Draws `watch`'s progress: one redrawn line with a bar on a terminal (coloured unless
/// `NO_COLOR`), a line per change otherwise, or JSON lines.
final class ProgressDisplay {
    private let json: Bool
    private let isTerminal = isatty(STDOUT_FILENO) == 1
    private let colours = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    private var last = ""

    init(json: Bool) { self.json = json }

    func show(kind: String, id: String, state: String, completed: Int?, total: Int?, done: Bool) {
        let text: String
        if json {
            var object: JSONObject = ["kind": .string(kind), "id": .string(id), "state": .string(state)]
            if let completed, let total {
                object["completed"] = .integer(completed)
                object["total"] = .integer(total)
            }
            text = JSONValue.object(object).serializedString
        } else {
            var line = "\(kind) \(id) "
            if let completed, let total, total > 0 {
                let filled = Int(min(30, max(0, Double(completed) / Double(total) * 30)))
                line += "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "] \(completed)/\(total) "
            }
            line += colours ? colour(state) : state
            text = line
        }
        guard text != last else { return }
        last = text
        if isTerminal && !json {
            StandardStreams.print("\r\u{1B}[2K" + text + (done ? "\n" : ""))
        } else {
            StandardStreams.printLine(text)
        }
    }

    func finish() {
        if isTerminal && !json && !last.isEmpty { StandardStreams.print("\n") }
    }

    private func colour(_ state: String) -> String {
        switch state {
        case "SUCCESS", "BODY SENT": return "\u{1B}[32m\(state)\u{1B}[0m"
        case "FAILURE", "REVOKED": return "\u{1B}[31m\(state)\u{1B}[0m"
        default: return "\u{1B}[33m\(state)\u{1B}[0m"
        }
    }
}
