import Celeriac
import Foundation
import RESP

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
            exit(await ping(arguments))
        default:
            StandardStreams.printError("unknown command '\(first)'; run 'celeriac --help'", program: program)
            exit(ExitStatus.usage)
        }
    }

    static func ping(_ arguments: [String]) async -> Int32 {
        let options = ConnectionSettings.options + [
            CommandLineOption("timeout", value: "SECONDS", help: "Connect and reply timeout (default 5)."),
            .help,
        ]
        let commandLine: ParsedCommandLine
        let timeout: Int
        do {
            commandLine = try ParsedCommandLine(arguments, options: options)
            timeout = try commandLine.integer("timeout", in: 1...3600) ?? 5
        } catch {
            StandardStreams.printError("\(error); run 'celeriac ping --help'", program: program)
            return ExitStatus.usage
        }
        if commandLine.flag("help") {
            StandardStreams.printLine("""
                Usage: celeriac ping [--broker URL] [--backend URL]

                Connects to the broker and, if it is another server or database, the result backend,
                sends PING and prints the reply, the Redis version and the round-trip time.

                Options:
                \(ParsedCommandLine.helpText(for: options))
                """)
            return ExitStatus.success
        }
        let settings = ConnectionSettings(commandLine, environment: ProcessInfo.processInfo.environment)
        var targets = [("broker", settings.brokerURL)]
        if settings.backendURL != settings.brokerURL { targets.append(("backend", settings.backendURL)) }
        var status = ExitStatus.success
        for (role, url) in targets {
            do {
                let report = try await RedisPing.ping(url: url, timeout: .seconds(timeout))
                let milliseconds = Double(report.roundTrip.components.attoseconds) / 1e15
                    + Double(report.roundTrip.components.seconds) * 1000
                StandardStreams.printLine(
                    "\(role): \(report.reply) from \(report.server) (Redis \(report.serverVersion), "
                        + String(format: "%.2f ms)", milliseconds))
            } catch let error as RedisClientError where error.code == .invalidConfiguration {
                StandardStreams.printError("\(error)", program: program)
                return ExitStatus.usage
            } catch {
                StandardStreams.printError("cannot reach the \(role): \(error)", program: program)
                status = ExitStatus.failure
            }
        }
        return status
    }
}
