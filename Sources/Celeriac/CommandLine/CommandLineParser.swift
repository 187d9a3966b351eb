/// One option an executable accepts.
public struct CommandLineOption: Sendable, Hashable {
    /// The canonical long name without dashes (`broker`), under which the value is stored.
    public let name: String
    /// A one-letter alias (`c` for `-c`), if any.
    public let shortName: Character?
    /// The placeholder shown in help (`URL`); `nil` for a flag that takes no value.
    public let valueName: String?
    /// One line of help.
    public let help: String

    /// Creates an option.
    public init(_ name: String, short: Character? = nil, value valueName: String? = nil, help: String) {
        self.name = name
        self.shortName = short
        self.valueName = valueName
        self.help = help
    }

    /// `--help` / `-h`.
    public static let help = CommandLineOption("help", short: "h", help: "Show this help and exit.")
    /// `--version`.
    public static let version = CommandLineOption("version", help: "Print the version and exit.")
}

/// A mistake in the command line: the message names the bad argument; exit with status 2.
public struct UsageError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, e.g. `unknown option '--bogus'`.
    public let message: String

    /// Creates a usage error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

/// The arguments of a command line, matched against a table of ``CommandLineOption``s.
///
/// Accepts `--name value`, `--name=value`, `-x value`, `-xvalue`, flags, positional arguments
/// anywhere, and `--` to end options. The last occurrence of an option wins.
public struct ParsedCommandLine: Sendable {
    /// Arguments that are not options, in order.
    public private(set) var positionals: [String] = []
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    /// Parses `arguments` (without the executable name).
    /// - Throws: ``UsageError`` for an unknown option, a missing value, or a value given to a flag.
    public init(_ arguments: some Sequence<String>, options: [CommandLineOption]) throws {
        var iterator = arguments.makeIterator()
        var optionsEnded = false
        while let argument = iterator.next() {
            if optionsEnded || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                optionsEnded = true
                continue
            }
            let option: CommandLineOption
            var inlineValue: String?
            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
                if let equals = body.firstIndex(of: "=") { inlineValue = String(body[body.index(after: equals)...]) }
                guard let match = options.first(where: { $0.name == name }) else {
                    throw UsageError("unknown option '--\(name)'")
                }
                option = match
            } else {
                let letter = argument.dropFirst().first ?? "-"
                guard let match = options.first(where: { $0.shortName == letter }) else {
                    throw UsageError("unknown option '-\(letter)'")
                }
                option = match
                let rest = argument.dropFirst(2)
                if !rest.isEmpty { inlineValue = String(rest) }
            }
            if option.valueName != nil {
                guard let value = inlineValue ?? iterator.next() else {
                    throw UsageError("option '--\(option.name)' needs a value (\(option.valueName ?? "value"))")
                }
                values[option.name] = value
            } else {
                if inlineValue != nil { throw UsageError("option '--\(option.name)' takes no value") }
                flags.insert(option.name)
            }
        }
    }

    /// The value of the option named `name`, if given.
    public func value(_ name: String) -> String? { values[name] }

    /// The value of `name` as a comma-separated list (items trimmed, empty ones dropped), if given.
    public func list(_ name: String) -> [String]? {
        values[name].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    /// Whether the flag named `name` was given.
    public func flag(_ name: String) -> Bool { flags.contains(name) }

    /// The value of `name` parsed as an integer.
    /// - Throws: ``UsageError`` when it is given but not an integer in `range`.
    public func integer(_ name: String, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("option '--\(name)' needs an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return number
    }

    /// The value of `name` as a non-negative number of seconds.
    /// - Throws: ``UsageError`` when it is given but not such a number.
    public func duration(_ name: String) throws -> Duration? {
        guard let text = values[name] else { return nil }
        // Past 10^9 s (31 years) the milliseconds would not fit a Duration's arithmetic safely.
        guard let seconds = Double(text), seconds.isFinite, seconds >= 0, seconds <= 1e9 else {
            throw UsageError("option '--\(name)' needs a number of seconds (0 to 1e9), got '\(text)'")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// Renders an options table for `--help`.
    public static func helpText(for options: [CommandLineOption]) -> String {
        let rows = options.map { option -> (String, String) in
            var left = option.shortName.map { "-\($0), " } ?? "    "
            left += "--\(option.name)"
            if let valueName = option.valueName { left += " \(valueName)" }
            return (left, option.help)
        }
        let width = (rows.map(\.0.count).max() ?? 0) + 2
        return rows.map { left, help in
            "  " + left + String(repeating: " ", count: width - left.count) + help
        }.joined(separator: "\n")
    }
}
