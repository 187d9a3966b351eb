import Foundation

/// Runs an executable to completion and captures its output, waiting on a thread of its own.
public enum CommandRunner {
    /// What a finished command left behind.
    public struct Output: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// Runs `executable` with `arguments` and `environment` (merged over this process's, where a
    /// `nil` value removes a variable) and returns its exit status and output.
    /// - Throws: when the executable cannot be started.
    public static func run(
        _ executable: URL, _ arguments: [String], environment: [String: String?] = [:]
    ) async throws -> Output {
        try await RedisServerProcess.onOwnThread {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            process.environment = merged
            let output = Pipe()
            let error = Pipe()
            process.standardOutput = output
            process.standardError = error
            process.standardInput = FileHandle.nullDevice
            try process.run()
            // Read both pipes to the end before waiting, so a full pipe cannot stall the child.
            let errorData = Locked<Data>(Data())
            let errorReader = Thread { errorData.set(error.fileHandleForReading.readDataToEndOfFile()) }
            errorReader.start()
            let outputData = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            while !errorReader.isFinished { usleep(1_000) }
            return Output(
                status: process.terminationStatus,
                standardOutput: String(decoding: outputData, as: UTF8.self),
                standardError: String(decoding: errorData.get(), as: UTF8.self))
        }
    }

    /// The directory holding the package's built products (next to the running test bundle).
    public static var productsDirectory: URL {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        // On Linux the test runner is `<products>/<Package>PackageTests.xctest`; elsewhere a bundle.
        while directory.pathExtension == "xctest" || directory.lastPathComponent == "MacOS"
            || directory.lastPathComponent == "Contents"
        {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }
}

/// A value behind a lock, for handing a result from a helper thread.
final class Locked<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only accessed while holding `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}
