import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process started with `posix_spawn` and stopped by pid: its own clean signal state, none of
/// the test process's descriptors (tests run in parallel in one process), output to a file.
public final class ChildProcess: @unchecked Sendable {
    /// The process could not be started.
    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    // @unchecked Sendable: `runningPID` is only touched while holding `lock`.
    private let lock = NSLock()
    private var runningPID: pid_t?

    /// The pid while the process runs.
    public var pid: pid_t? { lock.withLock { runningPID } }

    /// Starts `executable`. `environment` entries are added to (or, with `nil`, removed from) this
    /// process's environment; stdout and stderr go to `outputPath` (or /dev/null).
    /// - Throws: ``StartFailure`` when the process cannot be started (e.g. no such executable).
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String?] = [:], outputPath: String? = nil
    ) throws {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        let output = outputPath ?? "/dev/null"
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&fileActions, 3) }

        // The child inherits the spawning thread's signal mask and ignored signals (SIGPIPE is
        // ignored by the RESP client): reset both, or it would not stop on SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &fileActions, &attributes, argv, envp)
        guard status == 0 else {
            throw StartFailure(description: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        runningPID = pid
    }

    deinit {
        // Last resort if its owner forgot to stop it.
        if let pid = runningPID {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Whether the process has exited (reaping it if so).
    public var hasExited: Bool {
        lock.withLock {
            guard let pid = runningPID else { return true }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                runningPID = nil
                return true
            }
            return false
        }
    }

    /// Sends `signal` and waits up to `grace` for the exit, then SIGKILLs. Blocking: call it from
    /// a thread of its own (see ``RedisServerProcess/onOwnThread(_:)-(()->Void)``).
    public func terminate(signal: Int32 = SIGTERM, grace: TimeInterval = 5) {
        guard let pid = lock.withLock({ () -> pid_t? in
            defer { runningPID = nil }
            return runningPID
        }) else { return }
        kill(pid, signal)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(grace)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return
            }
            usleep(2_000)
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does
    /// not export: looked up at run time; `nil` on a libc without it.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()
}
