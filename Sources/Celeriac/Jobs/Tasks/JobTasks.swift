import Foundation

/// The two tasks a job runs as, registered in a worker with the functions it can run.
///
/// Their names and arguments are a documented contract (README, "Jobs from Python Celery"), so a
/// Python Celery producer can build the same chord:
///
/// - `celeriac.jobs.map(job_id, partition, dataset, function, params, partitions=None,
///   output=None)` → a ``PartitionSummary`` JSON; reports `PROGRESS` (`partition`, `processed`,
///   `total`, `itemsPerSecond`, `failed`) at most every 250 ms;
/// - `celeriac.jobs.reduce(partials, job_id, function, params, max_failed_partitions=None,
///   output=None)` → the job's result.
public enum JobTasks {
    public static let mapTaskName = "celeriac.jobs.map"
    public static let reduceTaskName = "celeriac.jobs.reduce"

    /// Both are acked late: a partition whose worker dies is delivered again (it is idempotent:
    /// its output file is renamed into place, its progress entry overwritten, and the chord
    /// counts each header task once).
    public static let settings = TaskSettings(acksLate: true)

    /// Registers the map and reduce tasks, running `functions` (the built-ins and any of yours).
    /// - Throws: ``TaskRegistryError`` when either name is registered already.
    public static func register(in registry: TaskRegistry, functions: JobFunctions = .builtIn) throws {
        try registry.register(mapTaskName, settings: settings) { _, kwargs, context in
            try await MapTask(kwargs: kwargs, context: context, functions: functions).run()
        }
        try registry.register(reduceTaskName, settings: settings) { args, kwargs, context in
            try await ReduceTask(args: args, kwargs: kwargs, context: context, functions: functions).run()
        }
    }

    /// A required string argument, or Python's `TypeError` naming it.
    static func string(_ kwargs: JSONObject, _ key: String, task: String) throws -> String {
        guard let value = kwargs[key]?.stringValue, !value.isEmpty else {
            throw TaskFailure(type: "TypeError", message: "\(task)() needs the string argument '\(key)'")
        }
        return value
    }

    /// The output target of the `output` argument (`{"directory": ...}` or `{"redis_list": ...}`).
    static func output(_ value: JSONValue?) throws -> JobOutputTarget? {
        guard let value, !value.isNull else { return nil }
        if let directory = value["directory"]?.stringValue, !directory.isEmpty { return .directory(directory) }
        if let key = value["redis_list"]?.stringValue, !key.isEmpty { return .redisList(key: key) }
        throw TaskFailure(type: "ValueError", message: "output must be {\"directory\": PATH} or {\"redis_list\": KEY}")
    }

    /// The time-to-live of job keys: the backend's result expiry.
    static func ttlSeconds(_ app: CeleriacApp) -> Int {
        guard let expires = app.backend.resultExpires else { return 0 }
        return max(Int(min(expires.timeInterval, 1e9)), 1)
    }
}
