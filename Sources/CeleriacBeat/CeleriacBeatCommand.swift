import Celeriac
import Foundation

/// `celeriac-beat`: sends tasks on a schedule, safely as several replicas.
///
/// This release only resolves and checks its connection settings; the beat itself lands with
/// issue #7, and until then the executable says so and exits with status 1.
@main
struct CeleriacBeatCommand {
    static let program = "celeriac-beat"

    static func main() async {
        let commandLine = CommandLineTool.parseOrExit(
            CommandLine.arguments.dropFirst(), program: program, usage: "\(program) [--broker URL] [--backend URL]",
            summary: "The Celeriac beat: sends tasks on a schedule, safely as several replicas.", options: ConnectionSettings.options)
        let settings = ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
        _ = await CommandLineTool.pingOrExit(settings.brokerURL, role: "broker", program: program)
        StandardStreams.printError(
            "the broker answers, but this build has no beat yet (it lands with issue #7)", program: program)
        exit(ExitStatus.failure)
    }
}
