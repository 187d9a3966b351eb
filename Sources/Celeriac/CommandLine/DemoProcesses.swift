import Foundation

/// The processes the demo starts (a private redis-server, workers), stopped by pid at the end.
final class DemoProcesses {
    let directory: String
    private var redisServer: Process?
    private var workers: [Process] = []

    init(directory: String) { self.directory = directory }

    /// A broker URL that answers: `preferred` if it does, else a private redis-server on a unix
    /// socket in the demo's directory (unless the URL was given explicitly).
    /// - Throws: ``CeleriacError`` when nothing answers and no server can be started.
    func redis(preferring preferred: String, explicit: Bool) async throws -> String {
        if (try? await RedisPing.ping(url: preferred, timeout: .seconds(1))) != nil {
            DemoCommand.say("using the Redis at \(DemoCommand.redacted(preferred))")
            return preferred
        }
        if explicit { throw CeleriacError(.invalidConfiguration, "no Redis answers at \(DemoCommand.redacted(preferred))") }
        guard let server = Self.executable("redis-server") else {
            throw CeleriacError(
                .invalidConfiguration,
                "no Redis answers at \(DemoCommand.redacted(preferred)) and redis-server is not installed (apt-get install redis-server)")
        }
        let socket = (directory as NSString).appendingPathComponent("redis.sock")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: server)
        process.arguments = [
            "--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
            "--dir", directory, "--logfile", (directory as NSString).appendingPathComponent("redis.log"),
        ]
        try process.run()
        redisServer = process
        let url = "unix://" + socket
        for _ in 0..<200 {
            if (try? await RedisPing.ping(url: url, timeout: .seconds(1))) != nil {
                DemoCommand.say("no Redis at \(DemoCommand.redacted(preferred)): started a private redis-server (pid \(process.processIdentifier))")
                return url
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CeleriacError(.invalidConfiguration, "the private redis-server did not start; see \(directory)/redis.log")
    }

    /// Starts `count` `celeriac-worker` processes (one slot each) and waits until all answer ping.
    /// - Throws: ``CeleriacError`` when the executable is missing or the workers do not come up.
    func startWorkers(_ count: Int, brokerURL: String, app: CeleriacApp) async throws {
        let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("celeriac-worker").path
        guard let executable = FileManager.default.isExecutableFile(atPath: sibling) ? sibling : Self.executable("celeriac-worker") else {
            throw CeleriacError(.invalidConfiguration, "celeriac-worker is not built next to celeriac (swift build --product celeriac-worker)")
        }
        let tag = CeleryID.random().prefix(6)
        for index in 1...count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["-c", "1", "-n", "demo\(index)-\(tag)@%h", "-l", "warning"]
            // In the environment, not the arguments: a password in the URL would show in `ps`.
            var environment = ProcessInfo.processInfo.environment
            environment["CELERIAC_BROKER_URL"] = brokerURL
            environment["CELERIAC_BROKER_PASSWORD_FILE"] = nil
            process.environment = environment
            let log = (directory as NSString).appendingPathComponent("worker\(index).log")
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let handle = FileHandle(forWritingAtPath: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            workers.append(process)
        }
        let control = ControlClient(app: app)
        for _ in 0..<60 {
            let replies = (try? await control.broadcast("ping", timeout: .milliseconds(500))) ?? [:]
            if replies.keys.filter({ $0.contains("-\(tag)@") }).count >= count { return }
            if workers.contains(where: { !$0.isRunning }) { break }
        }
        throw CeleriacError(.invalidConfiguration, "the workers did not come up; see \(directory)/worker*.log")
    }

    /// SIGTERM to the workers (warm shutdown), then the redis-server; SIGKILL to any still
    /// running after 15 seconds.
    func stopAll() {
        Self.stop(workers)
        workers = []
        Self.stop(redisServer.map { [$0] } ?? [])
        redisServer = nil
    }

    private static func stop(_ processes: [Process]) {
        for process in processes where process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + .seconds(15)
        while processes.contains(where: \.isRunning), ContinuousClock.now < deadline { usleep(20_000) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        // Lets Foundation finish its bookkeeping of each exit: a Process whose termination it has
        // not processed yet stays referenced (LeakSanitizer reports it at exit).
        for process in processes { process.waitUntilExit() }
    }

    static func executable(_ name: String) -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/sbin", "/usr/bin"]
        return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
