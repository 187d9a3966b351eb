import Foundation
import RedisTestSupport

/// The Python of the test venv, if the test script named one (scripts/test.sh does).
let interopPython = ProcessInfo.processInfo.environment["CELERIAC_PYTHON"]

/// Python Celery 5.7 processes for the interop tests: the app `Tests/Interop/celeriac_interop.py`
/// on a test's private redis-server (broker db 0, backend db 1).
enum PythonInterop {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Interop")

    /// The environment of the Python processes (plus `extra`).
    static func environment(_ server: RedisServerProcess, _ extra: [String: String?] = [:]) -> [String: String?] {
        var environment: [String: String?] = [
            "PYTHONPATH": directory.path,
            "CELERIAC_BROKER_URL": server.url(database: 0),
            "CELERIAC_RESULT_BACKEND": server.url(database: 1),
        ]
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    /// Starts a solo Celery worker named `name` on `queues` (comma-separated), logging to `log`.
    static func worker(
        _ server: RedisServerProcess, queues: String, name: String, log: URL, environment extra: [String: String?] = [:]
    ) throws -> ChildProcess {
        guard let python = interopPython else { throw InteropUnavailable() }
        return try ChildProcess(
            python,
            ["-m", "celery", "-A", "celeriac_interop", "worker", "-P", "solo", "-Q", queues, "-n", name, "-l", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            environment: environment(server, extra), outputPath: log.path)
    }

    struct InteropUnavailable: Error, CustomStringConvertible {
        var description: String { "CELERIAC_PYTHON is not set" }
    }
}
