import Celeriac
import Foundation

/// `celeriac-bench`: measures Celeriac against its peers in one run and prints the ratios.
@main
struct CeleriacBenchCommand {
    static let program = "celeriac-bench"

    static func main() async {
        let options = [
            CommandLineOption("pings", value: "N", help: "Unpipelined PINGs per measurement (default 10000)."),
            CommandLineOption("pushes", value: "N", help: "Pipelined LPUSHes per measurement (default 320000)."),
            CommandLineOption("pairs", value: "N", help: "Peer/Celeriac pairs; medians are reported (default 9)."),
            .help,
        ]
        do {
            let commandLine = try ParsedCommandLine(CommandLine.arguments.dropFirst(), options: options)
            if commandLine.flag("help") || commandLine.positionals.first != "resp" {
                StandardStreams.printLine("""
                    Usage: celeriac-bench resp [options]   (build with -c release)

                    resp    The RESP client vs redis-benchmark on a private redis-server:
                            unpipelined PING and LPUSH pipelined by 64, one connection each.

                    Options:
                    \(ParsedCommandLine.helpText(for: options))
                    """)
                exit(commandLine.flag("help") ? ExitStatus.success : ExitStatus.usage)
            }
            var benchmark = RESPBenchmark()
            benchmark.pings = try commandLine.integer("pings", in: 1_000...100_000_000) ?? benchmark.pings
            benchmark.pushes = try commandLine.integer("pushes", in: 6_400...1_000_000_000) ?? benchmark.pushes
            benchmark.pairs = try commandLine.integer("pairs", in: 1...99) ?? benchmark.pairs
            #if DEBUG
            StandardStreams.printError("warning: a debug build; measure with 'swift run -c release'", program: program)
            #endif
            let rows = try await benchmark.run()
            StandardStreams.printLine(
                "benchmark".padded(34) + "celeriac/s".leftPadded(12) + "redis-benchmark/s".leftPadded(19)
                    + "ratio".leftPadded(7))
            for row in rows {
                StandardStreams.printLine(
                    row.name.padded(34) + String(Int(row.celeriac)).leftPadded(12)
                        + String(Int(row.peer)).leftPadded(19) + String(format: "%.2f", row.ratio).leftPadded(7))
            }
        } catch let error as UsageError {
            StandardStreams.printError("\(error); run 'celeriac-bench --help'", program: program)
            exit(ExitStatus.usage)
        } catch {
            StandardStreams.printError("\(error)", program: program)
            exit(ExitStatus.failure)
        }
    }
}

extension String {
    fileprivate func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
