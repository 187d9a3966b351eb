import Celeriac
import CeleriacExamples
import Foundation
import RedisTestSupport

/// The workers the worker and chord benchmarks start on their private redis-server: a Celeriac
/// worker in-process, and Celery workers from the venv running `Benchmarks/python/celery_bench_app.py`.
enum BenchmarkWorkers {
    /// `celery_bench_app.py`: the Celery app (its tasks) and the Python side's timed loops.
    static let celeryScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("python/celery_bench_app.py").path

    /// The environment the Python side reads its Redis URLs and the app module from.
    static func environment(_ server: RedisServerProcess) -> [String: String?] {
        [
            "CELERIAC_BROKER_URL": server.url(database: 0), "CELERIAC_RESULT_BACKEND": server.url(database: 1),
            "PYTHONPATH": URL(fileURLWithPath: celeryScript).deletingLastPathComponent().path,
        ]
    }

    /// Starts a Celery worker on queue `celery` with the pool options `pool` (e.g. `-P solo`),
    /// logging to `log` in the server's directory.
    static func celery(python: String, _ server: RedisServerProcess, pool: [String], log: String) throws -> ChildProcess {
        try ChildProcess(
            python,
            ["-m", "celery", "-A", "celery_bench_app", "worker", "-l", "WARNING", "-Q", "celery", "--without-gossip",
             "--without-mingle", "--without-heartbeat"] + pool,
            environment: environment(server), outputPath: server.directory.appendingPathComponent(log).path)
    }

    /// Starts a Celeriac worker with the example tasks; returns it, its running task and its app
    /// (to close after the worker stopped).
    static func celeriac(
        _ server: RedisServerProcess, concurrency: Int, publishLead: Duration = .zero
    ) throws -> (worker: Worker, running: Task<Void, any Error>, app: CeleriacApp) {
        let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        let registry = TaskRegistry()
        try ExampleTasks.register(in: registry)
        var configuration = WorkerConfiguration(concurrency: concurrency)
        configuration.publishLead = publishLead
        let worker = Worker(app: app, registry: registry, configuration: configuration, logger: WorkerLogger(level: .warning))
        return (worker, Task { try await worker.run() }, app)
    }
}
