import Celeriac
import Foundation

/// `celeriac`: the command-line tool for operating a Celeriac (or Celery) deployment.
@main
struct CeleriacCommand {
    static let program = "celeriac"

    static let usage = """
        Usage: celeriac <command> [options]

        Commands:
          ping        Check that the broker (and the result backend, if different) answer.

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
        case "ping":
            arguments.removeFirst()
            await ping(arguments)
        default:
            StandardStreams.printError("unknown command '\(first)'; run 'celeriac --help'", program: program)
            exit(ExitStatus.usage)
        }
    }

    static func ping(_ arguments: [String]) async {
        let commandLine = CommandLineTool.parseOrExit(
            arguments, program: "\(program) ping", usage: "celeriac ping [--broker URL] [--backend URL]",
            summary: """
                Connects to the broker and, if it is another server or database, the result backend,
                sends PING and prints the reply, the Redis version and the round-trip time.
                """,
            options: ConnectionSettings.options + [
                CommandLineOption("timeout", value: "SECONDS", help: "Connect and reply timeout (default 5).")
            ])
        let timeout: Int
        do {
            timeout = try commandLine.integer("timeout", in: 1...3600) ?? 5
        } catch {
            StandardStreams.printError("\(error); run 'celeriac ping --help'", program: program)
            exit(ExitStatus.usage)
        }
        let settings = ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
        var targets = [("broker", settings.brokerURL)]
        if settings.backendURL != settings.brokerURL { targets.append(("backend", settings.backendURL)) }
        for (role, url) in targets {
            let report = await CommandLineTool.pingOrExit(url, role: role, program: program, timeout: .seconds(timeout))
            let milliseconds = Double(report.roundTrip.components.seconds) * 1000
                + Double(report.roundTrip.components.attoseconds) / 1e15
            StandardStreams.printLine(
                "\(role): \(report.reply) from \(report.server) (Redis \(report.serverVersion), "
                    + String(format: "%.2f ms)", milliseconds))
        }
    }
}
