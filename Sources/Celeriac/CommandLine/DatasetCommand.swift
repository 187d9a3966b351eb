import Foundation

/// `celeriac dataset generate`: realistic test data for jobs.
public enum DatasetCommand {
    /// `celeriac dataset generate --items N [--seed S] [--format jsonl|csv] --output PATH`.
    public static func main(program: String, arguments: [String]) async -> Int32 {
        guard arguments.first == "generate" else {
            StandardStreams.printError("usage: celeriac dataset generate --items N --output PATH", program: program)
            return arguments.first == "--help" ? ExitStatus.success : ExitStatus.usage
        }
        let commandLine: ParsedCommandLine
        do {
            commandLine = try CommandLineTool.parse(
                arguments.dropFirst(), program: "\(program) generate",
                usage: "celeriac dataset generate --items N [--seed S] [--format jsonl|csv] --output PATH",
                summary: """
                    Writes realistic test data: ids, names, emails (some invalid), ages, scores, amounts, categories,
                    timestamps, with a share of missing fields and wrong types. The same seed writes the same file.
                    """,
                options: [
                    CommandLineOption("items", short: "n", value: "N", help: "How many items."),
                    CommandLineOption("seed", value: "S", help: "Random seed (default 42)."),
                    CommandLineOption("format", value: "jsonl|csv", help: "File format (default jsonl)."),
                    CommandLineOption("output", short: "o", value: "PATH", help: "The file to write."),
                ])
        } catch {
            return error.status
        }
        do {
            guard let items = try commandLine.integer("items", in: 0...1_000_000_000) else { throw UsageError("give --items N") }
            guard let output = commandLine.value("output") else { throw UsageError("give --output PATH") }
            let seed = try commandLine.integer("seed", in: 0...Int.max) ?? 42
            guard let format = DatasetGenerator.Format(rawValue: commandLine.value("format") ?? "jsonl") else {
                throw UsageError("--format must be jsonl or csv")
            }
            let began = ContinuousClock.now
            try DatasetGenerator(items: items, seed: UInt64(seed), format: format).write(to: output)
            let seconds = (ContinuousClock.now - began).timeInterval
            StandardStreams.printLine("wrote \(JobProgressDisplay.grouped(items)) items to \(output) in \(String(format: "%.1f", seconds)) s")
            return ExitStatus.success
        } catch let error as UsageError {
            StandardStreams.printError("\(error); run '\(program) generate --help'", program: program)
            return ExitStatus.usage
        } catch {
            StandardStreams.printError("\(error)", program: program)
            return ExitStatus.failure
        }
    }
}
