import Foundation

/// What `celeriac call` was asked to do: the task, its arguments and `apply_async` options.
public struct CallArguments: Sendable {
    /// The task name.
    public var taskName: String
    /// Positional arguments (`--args '[2, 3]'`).
    public var args: [JSONValue]
    /// Keyword arguments (`--kwargs '{"x": 2}'`).
    public var kwargs: JSONObject
    /// Countdown, ETA, expiry, queue, priority.
    public var options: TaskOptions
    /// Whether to wait for the result (`--wait`).
    public var wait: Bool
    /// How long to wait (`--timeout`, seconds); `nil` waits as long as it takes.
    public var timeout: Duration?

    /// The options `celeriac call` takes (besides `--broker`/`--backend`).
    public static let options: [CommandLineOption] = [
        CommandLineOption("args", value: "JSON", help: "Positional arguments as a JSON array, e.g. '[2, 3]'."),
        CommandLineOption("kwargs", value: "JSON", help: "Keyword arguments as a JSON object, e.g. '{\"x\": 2}'."),
        CommandLineOption("countdown", value: "SECONDS", help: "Run no earlier than this many seconds from now."),
        CommandLineOption("eta", value: "ISO8601", help: "Run no earlier than this time, e.g. 2030-01-01T12:00:00Z."),
        CommandLineOption("expires", value: "SECONDS", help: "Revoke instead of running after this many seconds."),
        CommandLineOption("queue", short: "Q", value: "QUEUE", help: "The queue (default celery)."),
        CommandLineOption("priority", value: "0-9", help: "Priority; 0 is served first on Redis (default 0)."),
        CommandLineOption("wait", short: "w", help: "Wait for the result and print it as JSON."),
        CommandLineOption("timeout", value: "SECONDS", help: "With --wait: give up after this long (exit 1)."),
    ]

    /// Reads the call from a parsed command line whose first positional argument is the task name.
    /// - Throws: ``UsageError`` naming the bad argument (missing task, malformed JSON, bad number).
    public init(_ commandLine: ParsedCommandLine, now: Date = Date()) throws {
        guard let taskName = commandLine.positionals.first else { throw UsageError("missing the task name") }
        guard commandLine.positionals.count == 1 else {
            throw UsageError("unexpected argument '\(commandLine.positionals[1])'; give arguments with --args/--kwargs")
        }
        self.taskName = taskName
        args = []
        if let text = commandLine.value("args") {
            guard case .array(let array) = try Self.json(text, option: "args") else {
                throw UsageError("--args must be a JSON array, e.g. '[2, 3]'")
            }
            args = array
        }
        kwargs = [:]
        if let text = commandLine.value("kwargs") {
            guard case .object(let object) = try Self.json(text, option: "kwargs") else {
                throw UsageError("--kwargs must be a JSON object, e.g. '{\"x\": 2}'")
            }
            kwargs = object
        }
        options = TaskOptions()
        options.countdown = try Self.seconds(commandLine, "countdown").map { Self.duration($0) }
        if let text = commandLine.value("eta") {
            guard let eta = try? CeleryTimestamp.parse(text) else {
                throw UsageError("--eta '\(text)' is not an ISO 8601 time such as 2030-01-01T12:00:00Z")
            }
            options.eta = eta
        }
        options.expires = try Self.seconds(commandLine, "expires").map { .after(Self.duration($0)) }
        options.queue = commandLine.value("queue")
        options.priority = try commandLine.integer("priority", in: 0...9)
        wait = commandLine.flag("wait")
        timeout = try Self.seconds(commandLine, "timeout").map { Self.duration($0) }
        if timeout != nil && !wait { throw UsageError("--timeout needs --wait") }
    }

    private static func json(_ text: String, option: String) throws -> JSONValue {
        do {
            return try JSONValue(parsing: text)
        } catch let error as CeleryProtocolError {
            throw UsageError("--\(option) is not valid JSON (\(error.message))")
        }
    }

    private static func seconds(_ commandLine: ParsedCommandLine, _ name: String) throws -> Double? {
        guard let text = commandLine.value(name) else { return nil }
        guard let value = Double(text), value.isFinite, value >= 0 || name == "expires",
            abs(value) <= OutsideNumber.maximumSeconds
        else {
            throw UsageError("--\(name) needs a number of seconds (at most 100 years), got '\(text)'")
        }
        return value
    }

    private static func duration(_ seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
