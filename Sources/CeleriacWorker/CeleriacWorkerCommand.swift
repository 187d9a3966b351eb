import Celeriac
import Foundation
import RESP

/// `celeriac-worker`: consumes tasks from the broker's queues and stores their results.
///
/// This release only resolves and checks its connection settings; the worker itself lands with
/// issue #4, and until then the executable says so and exits with status 1.
@main
struct CeleriacWorkerCommand {
    static let program = "celeriac-worker"

    static func main() async {
        let options = ConnectionSettings.options + [.help, .version]
        let commandLine: ParsedCommandLine
        do {
            commandLine = try ParsedCommandLine(CommandLine.arguments.dropFirst(), options: options)
        } catch {
            StandardStreams.printError("\(error); run '\(program) --help'", program: program)
            exit(ExitStatus.usage)
        }
        if commandLine.flag("help") {
            StandardStreams.printLine("""
                Usage: \(program) [--broker URL] [--backend URL]

                The Celeriac worker: consumes tasks from the broker's queues and stores their results.

                Options:
                \(ParsedCommandLine.helpText(for: options))
                """)
            exit(ExitStatus.success)
        }
        if commandLine.flag("version") {
            StandardStreams.printLine(CeleriacVersion.line(for: program))
            exit(ExitStatus.success)
        }
        let settings = ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
        do {
            _ = try await RedisPing.ping(url: settings.brokerURL)
        } catch let error as RedisClientError where error.code == .invalidConfiguration {
            StandardStreams.printError("\(error)", program: program)
            exit(ExitStatus.usage)
        } catch {
            StandardStreams.printError("cannot reach the broker: \(error)", program: program)
            exit(ExitStatus.failure)
        }
        StandardStreams.printError(
            "the broker answers, but this build has no worker yet (it lands with issue #4)", program: program)
        exit(ExitStatus.failure)
    }
}
