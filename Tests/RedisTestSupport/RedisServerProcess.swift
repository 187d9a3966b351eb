import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private `redis-server` for one test suite or benchmark: its own free loopback port, its own
/// temporary directory, persistence off (`--save '' --appendonly no`) unless extra configuration
/// turns it on, stopped by pid.
///
/// Several suites may run at once: each server gets a port that was free when it started, and its
/// directory name (`celeriac-test-redis-*`) lets a cleanup script find strays after a crash.
///
/// Starting, stopping and killing wait for the process; they run on a thread of their own and are
/// `async`, so that they never block Swift concurrency's cooperative threads (tests run in parallel
/// on very few of them).
public final class RedisServerProcess: @unchecked Sendable {
    // @unchecked Sendable: the mutable `process` is only touched while holding `lock`.
    public enum Failure: Error, CustomStringConvertible {
        case notInstalled
        case didNotStart(String)

        public var description: String {
            switch self {
            case .notInstalled:
                return "redis-server is not installed: apt-get install -y redis-server (or run scripts/test.sh)"
            case .didNotStart(let detail):
                return "redis-server did not start: \(detail)"
            }
        }
    }

    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The server's working directory (removed by ``stop()``).
    public let directory: URL
    /// The unix socket path, when started with `unixSocket: true`.
    public let unixSocketPath: String?
    /// Extra `redis-server` arguments given at start, kept for ``restart()``.
    public let extraArguments: [String]

    private let lock = NSLock()
    private var process: ChildProcess?

    /// `redis://127.0.0.1:<port>/<database>`.
    public func url(database: Int = 0, userInfo: String? = nil) -> String {
        "redis://\(userInfo.map { "\($0)@" } ?? "")127.0.0.1:\(port)/\(database)"
    }

    /// The pid of the running server, if any.
    public var pid: Int32? { lock.withLock { process?.pid } }

    /// Starts a server and waits until it answers PING.
    /// - Parameters:
    ///   - extraArguments: more `redis-server` arguments, e.g. `["--requirepass", "secret"]`.
    ///   - unixSocket: also listen on a unix socket in the server's directory.
    /// - Throws: ``Failure`` when redis-server is missing or does not answer within 10 s.
    public static func start(extraArguments: [String] = [], unixSocket: Bool = false) async throws -> RedisServerProcess {
        try await onOwnThread { try startBlocking(extraArguments: extraArguments, unixSocket: unixSocket) }
    }

    private static func startBlocking(extraArguments: [String], unixSocket: Bool) throws -> RedisServerProcess {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("celeriac-test-redis-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = RedisServerProcess(
                port: try freePort(), directory: directory,
                unixSocketPath: unixSocket ? directory.appendingPathComponent("redis.sock").path : nil,
                extraArguments: extraArguments)
            do {
                try server.launch()
                return server
            } catch {
                // Another process may have taken the port in between; try another.
                lastError = error
                server.stopBlocking()
            }
        }
        throw lastError ?? Failure.didNotStart("no free port")
    }

    private init(port: Int, directory: URL, unixSocketPath: String?, extraArguments: [String]) {
        self.port = port
        self.directory = directory
        self.unixSocketPath = unixSocketPath
        self.extraArguments = extraArguments
    }

    private func launch() throws {
        guard let executable = Self.findExecutable("redis-server") else { throw Failure.notInstalled }
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--logfile", directory.appendingPathComponent("redis.log").path,
            // Read by scripts/lib/setup.sh to stop a server a crashed run left behind, by pid.
            "--pidfile", directory.appendingPathComponent("redis.pid").path,
            "--daemonize", "no", "--protected-mode", "no",
        ]
        if let unixSocketPath {
            arguments += ["--unixsocket", unixSocketPath, "--unixsocketperm", "700"]
        }
        arguments += extraArguments
        let child = try ChildProcess(executable, arguments)
        lock.withLock { process = child }
        guard let pid = child.pid else { throw Failure.didNotStart("exited at once") }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if child.hasExited {
                throw Failure.didNotStart("exited early; see \(directory.path)/redis.log")
            }
            if Self.isServer(pid: pid, listeningOn: port, password: Self.password(in: extraArguments)) { return }
            usleep(20_000)
        }
        throw Failure.didNotStart("no PONG on port \(port) within 10 s")
    }

    /// Stops the server with SIGTERM (then SIGKILL after 5 s) and removes its directory.
    public func stop() async {
        await Self.onOwnThread { self.stopBlocking() }
    }

    func stopBlocking() {
        terminate(signal: SIGTERM)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Kills the server with SIGKILL, like a crash, and waits until it is gone; the directory stays
    /// for ``restart()``.
    public func kill() async {
        await Self.onOwnThread { self.terminate(signal: SIGKILL) }
    }

    /// Starts the server again on the same port and directory, after ``kill()``, or stops it
    /// (SIGTERM) and starts it again.
    /// - Throws: ``Failure`` when it does not come back within 10 s.
    public func restart() async throws {
        try await Self.onOwnThread {
            self.terminate(signal: SIGTERM)
            try self.launch()
        }
    }

    /// Runs blocking work on a new thread and waits for it without blocking the caller's thread.
    public static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    public static func onOwnThread(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { continuation in
            Thread {
                work()
                continuation.resume()
            }.start()
        }
    }

    /// Sends `signal` to the server and waits (up to 5 s, then SIGKILL) until it has exited.
    private func terminate(signal: Int32) {
        let child = lock.withLock { () -> ChildProcess? in
            defer { process = nil }
            return process
        }
        child?.terminate(signal: signal)
    }

    // MARK: Helpers

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freePort() throws -> Int {
        try RefusingPort().port  // bound and closed again at once
    }

    /// Whether the Redis server answering on 127.0.0.1:`port` is the process `pid` (and not, say,
    /// another test's server that took the port first), asked with a raw `INFO server`.
    static func isServer(pid: pid_t, listeningOn port: Int, password: String?) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return false }
        let request = (password.map { "AUTH \($0)\r\n" } ?? "") + "INFO server\r\n"
        _ = request.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains("\r\ntcp_port:") {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { return false }
            received += String(decoding: buffer[0..<count], as: UTF8.self)
            if received.hasPrefix("-") { return false }
        }
        return received.contains("\r\nprocess_id:\(pid)\r\n")
    }

    private static func password(in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: "--requirepass"), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    /// The full path of an executable on `PATH`, if any.
    public static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin"]
        for directory in directories {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
