import Celeriac
import Foundation

/// `celeriac-worker`: consumes tasks from the broker's queues and stores their results.
///
/// This release only resolves and checks its connection settings; the worker itself lands with
/// issue #4, and until then the executable says so and exits with status 1.
@main
struct CeleriacWorkerCommand {
    static let program = "celeriac-worker"

    static func main() async {
        let commandLine = CommandLineTool.parseOrExit(
            CommandLine.arguments.dropFirst(), program: program, usage: "\(program) [--broker URL] [--backend URL]",
            summary: "The Celeriac worker: consumes tasks from the broker's queues and stores their results.", options: ConnectionSettings.options)
        let settings = ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
        _ = await CommandLineTool.pingOrExit(settings.brokerURL, role: "broker", program: program)
        StandardStreams.printError(
            "the broker answers, but this build has no worker yet (it lands with issue #4)", program: program)
        exit(ExitStatus.failure)
    }
}
