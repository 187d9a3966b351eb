import Celeriac
import Foundation
import RESP

/// `celeriac-beat`: sends tasks on a schedule, safely as several replicas.
///
/// This release only resolves and checks its connection settings; the beat itself lands with
/// issue #7, and until then the executable says so and exits with status 1.
@main
struct CeleriacBeatCommand {
    static let program = "celeriac-beat"

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

                The Celeriac beat: sends tasks on a schedule, safely as several replicas.

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
            "the broker answers, but this build has no beat yet (it lands with issue #7)", program: program)
        exit(ExitStatus.failure)
    }
}
