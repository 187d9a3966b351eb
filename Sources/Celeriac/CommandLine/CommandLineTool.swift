import Dispatch
import Foundation
import RESP

/// A command line answered before the command ran (`--help`, `--version`, a usage error, an
/// unreachable Redis): what a person needs is printed, and the command returns `status` as its
/// exit status. The library never exits the process itself; executables exit with the status.
public struct CommandLineExit: Error, Sendable, Hashable {
    public let status: Int32
}

/// Start-up steps every Celeriac executable shares: standard options, help, version, usage errors,
/// and reaching Redis. Each prints what a person needs and gives the documented status.
public enum CommandLineTool {
    /// Parses `arguments` against `options` plus `--help` and `--version`.
    /// - Returns: the parsed command line.
    /// - Throws: ``CommandLineExit`` with status 0 after printing the help (built from `usage`,
    ///   `summary` and the options table) or the version; with status 2 after printing a usage error.
    public static func parse(
        _ arguments: some Sequence<String>, program: String, usage: String, summary: String,
        options: [CommandLineOption]
    ) throws(CommandLineExit) -> ParsedCommandLine {
        let allOptions = options + [.help, .version]
        let commandLine: ParsedCommandLine
        do {
            commandLine = try ParsedCommandLine(arguments, options: allOptions)
        } catch {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            throw CommandLineExit(status: ExitStatus.usage)
        }
        if commandLine.flag("help") {
            StandardStreams.printLine(
                """
                Usage: \(usage)

                \(summary)

                Options:
                \(ParsedCommandLine.helpText(for: allOptions))
                """)
            throw CommandLineExit(status: ExitStatus.success)
        }
        if commandLine.flag("version") {
            StandardStreams.printLine(CeleriacVersion.line(for: program))
            throw CommandLineExit(status: ExitStatus.success)
        }
        return commandLine
    }

    /// Pings the Redis server at `url`.
    /// - Returns: the report.
    /// - Throws: ``CommandLineExit`` after printing one line: status 2 for a malformed URL, 1 for
    ///   an unreachable or refusing server.
    public static func ping(
        _ url: String, role: String, program: String, timeout: Duration = .seconds(5)
    ) async throws(CommandLineExit) -> RedisPing.Report {
        do {
            return try await RedisPing.ping(url: url, timeout: timeout)
        } catch let error as RedisClientError where error.code == .invalidConfiguration {
            StandardStreams.printError("\(error)", program: program)
            throw CommandLineExit(status: ExitStatus.usage)
        } catch {
            StandardStreams.printError("cannot reach the \(role): \(error)", program: program)
            throw CommandLineExit(status: ExitStatus.failure)
        }
    }

    /// The producer for the broker and backend named by the options or the environment; `nil`
    /// after printing the error (a malformed URL: the caller exits with a usage status).
    public static func makeApp(_ commandLine: ParsedCommandLine, program: String) -> CeleriacApp? {
        do {
            let settings = try ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
            return try CeleriacApp(brokerURL: settings.brokerURL, backendURL: settings.backendURL)
        } catch {
            StandardStreams.printError("\(error)", program: program)
            return nil
        }
    }

    /// Runs a command's `body` with a producer for the connection options, then closes it.
    /// Returns the body's exit status; 2 after a ``UsageError`` or a malformed URL (with a hint);
    /// 1 after any other error, printed as one line.
    public static func withApp(
        _ commandLine: ParsedCommandLine, program: String, _ body: (CeleriacApp) async throws -> Int32
    ) async -> Int32 {
        guard let app = makeApp(commandLine, program: program) else { return ExitStatus.usage }
        let status: Int32
        do {
            status = try await body(app)
        } catch let error as UsageError {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            status = ExitStatus.usage
        } catch {
            StandardStreams.printError("\(error)", program: program)
            status = ExitStatus.failure
        }
        await app.close()
        return status
    }

    /// Runs a long-lived service (a worker, a beat) until it returns; SIGTERM and SIGINT call
    /// `stop` instead of killing the process (the first starts a warm shutdown, the second a cold
    /// one). Closes `app` afterwards. Returns 0, or 1 after printing `failure: <error>` when `run`
    /// throws.
    public static func runUntilStopped(
        program: String, app: CeleriacApp, failure: String, stop: @escaping @Sendable () -> Void,
        run: () async throws -> Void
    ) async -> Int32 {
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: stop)
            source.resume()
            return source
        }
        var status = ExitStatus.success
        do {
            try await run()
        } catch {
            StandardStreams.printError("\(failure): \(error)", program: program)
            status = ExitStatus.failure
        }
        for source in signals { source.cancel() }
        await app.close()
        return status
    }
}
