import Foundation
import RESP

/// The whole of a worker executable: options, connecting, signals, running. `celeriac-worker` is
/// this with the example tasks; a user's own worker executable is the same with their tasks:
///
/// ```swift
/// @main struct MyWorker {
///     static func main() async {
///         let status = await WorkerCommand.run(program: "my-worker") { registry in
///             try registry.register(ResizeImage.self) { arguments, context in try await resize(arguments) }
///         }
///         exit(status)
///     }
/// }
/// ```
public enum WorkerCommand {
    /// Parses the command line (``WorkerArguments`` + `--broker`/`--backend`), registers the
    /// tasks, runs a ``Worker`` until SIGTERM/SIGINT (the first warm, the second cold), and returns
    /// the exit status: 0 after a clean shutdown, 1 when Redis cannot be reached at start or
    /// `register` throws (a name registered twice), 2 for a usage error; `--help` and `--version`
    /// print and return 0 at once. It never exits the process: the caller exits with the status.
    public static func run(
        program: String, arguments: [String] = Array(CommandLine.arguments.dropFirst()),
        register: @Sendable (TaskRegistry) throws -> Void
    ) async -> Int32 {
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments, program: program, usage: "\(program) [options]",
                summary: "A Celeriac worker: runs tasks from Celery-compatible Redis queues and stores their results.",
                options: ConnectionSettings.options + WorkerArguments.options)
        } catch {
            return error.status
        }
        let workerArguments: WorkerArguments
        do {
            workerArguments = try WorkerArguments(commandLine)
        } catch {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            return ExitStatus.usage
        }
        let app: CeleriacApp
        let settings: ConnectionSettings
        do {
            settings = try ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
        } catch {
            StandardStreams.printError("\(error)", program: program)
            return ExitStatus.usage
        }
        do {
            _ = try await RedisPing.ping(url: settings.brokerURL, timeout: .seconds(5))
            app = try CeleriacApp(brokerURL: settings.brokerURL, backendURL: settings.backendURL)
        } catch let error as RedisClientError where error.code == .invalidConfiguration {
            StandardStreams.printError("\(error)", program: program)
            return ExitStatus.usage
        } catch {
            StandardStreams.printError("cannot reach the broker: \(error)", program: program)
            return ExitStatus.failure
        }
        let registry = TaskRegistry()
        do {
            try register(registry)
        } catch {
            StandardStreams.printError("\(error)", program: program)
            await app.close()
            return ExitStatus.failure
        }
        let worker = Worker(
            app: app, registry: registry, configuration: workerArguments.configuration,
            logger: WorkerLogger(level: workerArguments.logLevel))
        return await CommandLineTool.runUntilStopped(
            program: program, app: app, failure: "the worker stopped", stop: { worker.shutdown() },
            run: { try await worker.run() })
    }
}
