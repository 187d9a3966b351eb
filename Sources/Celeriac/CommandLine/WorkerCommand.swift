import Dispatch
import Foundation

/// The whole of a worker executable: options, connecting, signals, running. `celeriac-worker` is
/// this with the example tasks; a user's own worker executable is the same with their tasks:
///
/// ```swift
/// @main struct MyWorker {
///     static func main() async {
///         await WorkerCommand.main(program: "my-worker") { registry in
///             registry.register(ResizeImage.self) { arguments, context in try await resize(arguments) }
///         }
///     }
/// }
/// ```
public enum WorkerCommand {
    /// Parses the command line (``WorkerArguments`` + `--broker`/`--backend`), registers the
    /// tasks, runs a ``Worker`` until SIGTERM/SIGINT (the first warm, the second cold), and exits:
    /// 0 after a clean shutdown, 1 when Redis cannot be reached at start, 2 for a usage error.
    public static func main(
        program: String, arguments: [String] = Array(CommandLine.arguments.dropFirst()),
        register: @Sendable (TaskRegistry) -> Void
    ) async -> Never {
        let commandLine = CommandLineTool.parseOrExit(
            arguments, program: program, usage: "\(program) [options]",
            summary: "A Celeriac worker: runs tasks from Celery-compatible Redis queues and stores their results.",
            options: ConnectionSettings.options + WorkerArguments.options)
        let workerArguments: WorkerArguments
        do {
            workerArguments = try WorkerArguments(commandLine)
        } catch {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            exit(ExitStatus.usage)
        }
        let settings = ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
        _ = await CommandLineTool.pingOrExit(settings.brokerURL, role: "broker", program: program)
        let app: CeleriacApp
        do {
            app = try CeleriacApp(brokerURL: settings.brokerURL, backendURL: settings.backendURL)
        } catch {
            StandardStreams.printError("\(error)", program: program)
            exit(ExitStatus.usage)
        }
        let registry = TaskRegistry()
        register(registry)
        let worker = Worker(
            app: app, registry: registry, configuration: workerArguments.configuration,
            logger: WorkerLogger(level: workerArguments.logLevel))
        let signals = [SIGTERM, SIGINT].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { worker.shutdown() }
            source.resume()
            return source
        }
        var status = ExitStatus.success
        do {
            try await worker.run()
        } catch {
            StandardStreams.printError("the worker stopped: \(error)", program: program)
            status = ExitStatus.failure
        }
        for source in signals { source.cancel() }
        await app.close()
        exit(status)
    }
}
