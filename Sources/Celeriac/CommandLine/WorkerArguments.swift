import Foundation

/// What `celeriac-worker` (or a user's own worker executable) was asked to do.
public struct WorkerArguments: Sendable {
    /// The worker settings.
    public var configuration: WorkerConfiguration
    /// The log level (`-l`).
    public var logLevel: LogLevel

    /// The worker's options (besides `--broker`/`--backend`).
    public static let options: [CommandLineOption] = [
        CommandLineOption("queues", short: "Q", value: "Q1,Q2", help: "Queues to consume, comma-separated (default celery)."),
        CommandLineOption("concurrency", short: "c", value: "N", help: "Tasks run at once (default: the number of cores)."),
        CommandLineOption("hostname", short: "n", value: "NAME", help: "Node name, e.g. w1@%h (default celeriac@<host>)."),
        CommandLineOption(
            "max-concurrency", value: "N", help: "The most slots pool_grow may reach (default 256, or -c when more)."),
        CommandLineOption("prefetch", value: "N", help: "Messages fetched ahead of free slots (default 4 x concurrency)."),
        CommandLineOption("prefetch-bytes", value: "BYTES", help: "Bytes of messages fetched ahead (default 134217728, 128 MiB)."),
        CommandLineOption(
            "max-message-size", value: "BYTES", help: "Larger messages are dead-lettered, not run (default 67108864, 64 MiB)."),
        CommandLineOption("acks-late", help: "Ack after tasks finish, not when they start (tasks may override)."),
        CommandLineOption("loglevel", short: "l", value: "LEVEL", help: "debug, info, warning or error (default info)."),
        CommandLineOption(
            "visibility-timeout", value: "SECONDS",
            help: "Unacked messages of dead workers come back after this (default 3600)."),
        CommandLineOption("restore-interval", value: "SECONDS", help: "How often to sweep for them (default 10)."),
        CommandLineOption(
            "unacked-mutex-expire", value: "SECONDS",
            help: "The sweep's lock expires after this if its holder dies (default 300)."),
        CommandLineOption(
            "shutdown-grace", value: "SECONDS", help: "Warm shutdown waits this long for running tasks (default 30)."),
        CommandLineOption(
            "publish-lead", value: "SECONDS",
            help:
                "Publish a finished task's result this long before storing it, when someone is subscribed (default 0: store first; 0.001 ends Celery clients' latency tail)."
        ),
        CommandLineOption("result-extended", help: "Store name, args, kwargs, worker, retries and queue with results."),
        CommandLineOption("task-events", short: "E", help: "Send task events (for Flower and 'celery events'), as Celery's -E."),
        CommandLineOption("without-mingle", help: "Do not ask the other workers for their revoked ids at start."),
    ]

    /// Reads the worker options from a parsed command line.
    /// - Throws: ``UsageError`` naming the bad option.
    public init(_ commandLine: ParsedCommandLine) throws {
        guard commandLine.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(commandLine.positionals[0])'")
        }
        var configuration = WorkerConfiguration()
        if let names = commandLine.list("queues") {
            guard !names.isEmpty else { throw UsageError("--queues needs at least one queue name") }
            configuration.queues = names
        }
        if let concurrency = try commandLine.integer("concurrency", in: 1...10_000) {
            configuration.concurrency = concurrency
            configuration.prefetch = 4 * concurrency
        }
        if let prefetch = try commandLine.integer("prefetch", in: 1...1_000_000) { configuration.prefetch = prefetch }
        if let maximum = try commandLine.integer("max-concurrency", in: 1...10_000) { configuration.maximumConcurrency = maximum }
        if let bytes = try commandLine.integer("prefetch-bytes", in: 1024...(1 << 40)) { configuration.prefetchBytes = bytes }
        if let bytes = try commandLine.integer("max-message-size", in: 1024...(1 << 31)) { configuration.maximumMessageSize = bytes }
        if let hostname = commandLine.value("hostname") {
            guard !hostname.isEmpty else { throw UsageError("--hostname needs a name") }
            configuration.hostname = WorkerConfiguration.nodeName(hostname)
        }
        configuration.acksLate = commandLine.flag("acks-late")
        configuration.resultExtended = commandLine.flag("result-extended")
        configuration.taskEvents = commandLine.flag("task-events")
        configuration.mingle = !commandLine.flag("without-mingle")
        if let timeout = try commandLine.duration("visibility-timeout") {
            guard timeout > .zero else { throw UsageError("--visibility-timeout must be above 0") }
            configuration.visibilityTimeout = timeout
        }
        if let interval = try commandLine.duration("restore-interval") {
            guard interval > .zero else { throw UsageError("--restore-interval must be above 0") }
            configuration.restoreInterval = interval
        }
        if let expiry = try commandLine.duration("unacked-mutex-expire") {
            guard expiry >= .milliseconds(1) else { throw UsageError("--unacked-mutex-expire must be at least 0.001") }
            configuration.unackedMutexExpiry = expiry
        }
        if let grace = try commandLine.duration("shutdown-grace") { configuration.shutdownGrace = grace }
        if let lead = try commandLine.duration("publish-lead") {
            guard lead <= .seconds(1) else { throw UsageError("--publish-lead must be at most 1 (second)") }
            configuration.publishLead = lead
        }
        self.configuration = configuration
        if let name = commandLine.value("loglevel") {
            guard let level = LogLevel(name: name) else {
                throw UsageError("--loglevel must be debug, info, warning or error, got '\(name)'")
            }
            logLevel = level
        } else {
            logLevel = .info
        }
    }
}
