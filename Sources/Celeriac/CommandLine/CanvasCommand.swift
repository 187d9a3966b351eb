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
        let commandLine = CommandLineTool.parseOrExit(
            arguments, program: program, usage: "celeriac apply '<signature JSON>'|@FILE [--wait [--progress]]",
            summary: """
                Applies a task, chain, group or chord given as Celery's signature dict, e.g.
                '{"task": "celery.chord", "kwargs": {"header": [...], "body": {...}}, "subtask_type": "chord"}'.
                Prints the id to wait on (task, last chain step, group id, chord body and group id).
                """,
            options: ConnectionSettings.options + applyOptions)
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
        guard let app = CommandLineTool.makeApp(commandLine, program: program) else { return ExitStatus.usage }
        let status = await apply(
            signature, with: app, wait: commandLine.flag("wait"), progress: commandLine.flag("progress"), timeout: timeout,
            program: program)
        await app.close()
        return status
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
        let commandLine = CommandLineTool.parseOrExit(
            arguments, program: program, usage: "celeriac progress <group id>",
            summary: "Prints '<completed>/<total>' of a chord while it runs, or of a group saved with GroupResult.save().",
            options: ConnectionSettings.options)
        guard commandLine.positionals.count == 1, let groupID = commandLine.positionals.first else {
            StandardStreams.printError("give one group id; run '\(program) --help'", program: program)
            return ExitStatus.usage
        }
        guard let app = CommandLineTool.makeApp(commandLine, program: program) else { return ExitStatus.usage }
        let status = await printProgress(of: groupID, with: app, program: program)
        await app.close()
        return status
    }

    private static func printProgress(of groupID: String, with app: CeleriacApp, program: String) async -> Int32 {
        do {
            let counter = try await app.backend.chords.progress(groupID: groupID)
            if let total = counter.total {
                StandardStreams.printLine("chord \(groupID): \(counter.recorded)/\(total)")
            } else if counter.bodySent {
                StandardStreams.printLine("chord \(groupID): done (body sent)")
            } else if let group = try await GroupResult.restore(groupID, backend: app.backend) {
                StandardStreams.printLine("group \(groupID): \(try await group.progress())")
            } else {
                StandardStreams.printError("no running chord or saved group \(groupID)", program: program)
                return ExitStatus.failure
            }
            return ExitStatus.success
        } catch {
            StandardStreams.printError("\(error)", program: program)
            return ExitStatus.failure
        }
    }
}
