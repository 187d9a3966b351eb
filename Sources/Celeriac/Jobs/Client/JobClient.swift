import Foundation
import RESP

extension CeleriacApp {
    /// Map-reduce jobs over datasets, checked against the built-in functions.
    public var jobs: JobClient { JobClient(app: self) }

    /// Map-reduce jobs, checked against `functions` (the built-ins and your own).
    public func jobs(functions: JobFunctions) -> JobClient { JobClient(app: self, functions: functions) }
}

/// Submits, finds and lists jobs (`app.jobs`).
///
/// ```swift
/// let job = try await app.jobs.submit(JobSpec(dataset: .jsonLines(path: path), function: "validation",
///                                              parameters: ["rules": ["email": ["format": "email"]]]))
/// for try await status in job.progress() { print(status.itemsProcessed, status.itemsTotal) }
/// print(try await job.result())
/// ```
public struct JobClient: Sendable {
    public let app: CeleriacApp
    /// The functions submits are checked against (workers run their own registry's).
    public let functions: JobFunctions

    public init(app: CeleriacApp, functions: JobFunctions = .builtIn) {
        self.app = app
        self.functions = functions
    }

    var store: RedisConnectionPool { app.backend.pool }
    var ttlSeconds: Int {
        guard let expires = app.backend.resultExpires else { return 0 }
        return max(Int(min(expires.timeInterval, 1e9)), 1)
    }

    /// The handle of job `id` (nothing is read until you ask).
    public func job(_ id: String) -> Job { Job(id: id, client: self) }

    /// Checks the spec, measures and splits the dataset, records the job and publishes its chord:
    /// one `celeriac.jobs.map` task per partition, `celeriac.jobs.reduce` as the body.
    /// - Throws: ``JobError`` (`unknownFunction`, `invalidParameters` naming the field,
    ///   `datasetUnavailable` for a missing file or empty list, `invalidSpec`) before anything is
    ///   queued; ``RedisClientError`` / ``RedisServerError``.
    public func submit(_ spec: JobSpec) async throws -> Job {
        try functions.validate(spec.function, parameters: spec.parameters)
        try Self.check(spec)
        let measure = try await JobPlanner.measure(spec.dataset, broker: app.broker.pool)
        let size: Int
        switch spec.partitionSize {
        case .items(let items): size = items
        case .automatic: size = JobPlanner.automaticPartitionSize(items: measure.estimatedItems, slots: await liveSlots())
        case .slots(let slots): size = JobPlanner.automaticPartitionSize(items: measure.estimatedItems, slots: slots)
        }
        let partitions = JobPlanner.partitions(of: spec.dataset, measure: measure, partitionSize: size)
        guard !partitions.isEmpty else { throw JobError(.datasetUnavailable, "\(spec.dataset) has no records") }

        let id = CeleryID.random()
        let reduceID = CeleryID.random()
        let mapIDs = partitions.map { _ in CeleryID.random() }
        var options: JSONObject = ["queue": .string(spec.queue)]
        if let priority = spec.priority { options["priority"] = .integer(priority) }
        let output = spec.output.map(Self.outputJSON) ?? .null
        let header = zip(partitions.indices, mapIDs).map { index, mapID in
            var taskOptions = options
            taskOptions["task_id"] = .string(mapID)
            return Signature(
                task: JobTasks.mapTaskName,
                kwargs: [
                    "job_id": .string(id), "partition": .integer(index), "partitions": .integer(partitions.count),
                    "dataset": partitions[index].json, "function": .string(spec.function), "params": spec.parameters,
                    "output": output,
                ],
                options: taskOptions)
        }
        var bodyOptions = options
        bodyOptions["task_id"] = .string(reduceID)
        let body = Signature(
            task: JobTasks.reduceTaskName,
            kwargs: [
                "job_id": .string(id), "function": .string(spec.function), "params": spec.parameters,
                "max_failed_partitions": spec.maxFailedPartitions.map(JSONValue.integer) ?? .null, "output": output,
            ],
            options: bodyOptions)
        let plan = try app.canvasPlan(Signature.chord(header, body: body))

        let now = Date().timeIntervalSince1970
        let record: [(String, String)] = [
            ("id", id), ("state", JobState.pending.rawValue), ("function", spec.function),
            ("params", spec.parameters.serializedString), ("dataset", spec.dataset.description),
            ("format", spec.dataset.format), ("partition_size", String(size)), ("partitions_total", String(partitions.count)),
            ("items_estimated", String(measure.estimatedItems)), ("submitted_at", String(now)),
            ("submitted_by", Self.submitter(origin: app.origin)), ("queue", spec.queue), ("reduce_id", reduceID),
            ("map_ids", JSONValue.array(mapIDs.map(JSONValue.string)).serializedString),
            ("output", spec.output?.description ?? ""),
        ]
        var commands = [RESPCommand("HSET", arguments: [JobKeys.record(id)] + record.flatMap { [$0.0, $0.1] })]
        if ttlSeconds > 0 { commands.append(RESPCommand("EXPIRE", JobKeys.record(id), ttlSeconds)) }
        commands.append(RESPCommand("ZADD", JobKeys.recent, now, id))
        commands.append(RESPCommand("ZREMRANGEBYRANK", JobKeys.recent, 0, -(JobKeys.recentLimit + 1)))
        _ = try await store.transaction(commands)
        try await app.publish(plan)
        return job(id)
    }

    /// Refuses specs no job could run.
    static func check(_ spec: JobSpec) throws {
        if case .items(let items) = spec.partitionSize, !(1...10_000_000).contains(items) {
            throw JobError(.invalidSpec, "partition size must be between 1 and 10,000,000 items, got \(items)")
        }
        if case .slots(let slots) = spec.partitionSize, !(1...100_000).contains(slots) {
            throw JobError(.invalidSpec, "slots must be between 1 and 100,000, got \(slots)")
        }
        if let priority = spec.priority, !(0...255).contains(priority) {
            throw JobError(.invalidSpec, "priority must be between 0 and 255, got \(priority)")
        }
        if let limit = spec.maxFailedPartitions, limit < 0 {
            throw JobError(.invalidSpec, "maxFailedPartitions must not be negative")
        }
        guard !spec.queue.isEmpty else { throw JobError(.invalidSpec, "the queue name is empty") }
    }

    static func outputJSON(_ target: JobOutputTarget) -> JSONValue {
        switch target {
        case .directory(let path): ["directory": .string(path)]
        case .redisList(let key): ["redis_list": .string(key)]
        }
    }

    static func submitter(origin: String) -> String {
        let user = ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.environment["LOGNAME"]
        return user.map { "\($0) (\(origin))" } ?? origin
    }

    /// The worker slots that answer `inspect stats` (within a second, collected until 50 ms pass
    /// without another reply); 1 when none answer.
    public func liveSlots() async -> Int {
        guard let replies = try? await ControlClient(app: app).broadcast("stats", timeout: .seconds(1), quiet: .milliseconds(50))
        else { return 1 }
        let slots = replies.values.reduce(0) { total, reply in
            total + min(max(reply["pool"]?["max-concurrency"]?.intValue ?? 0, 0), 10_000)
        }
        return max(slots, 1)
    }

    /// The most recent jobs, newest first.
    /// - Throws: ``RedisClientError`` / ``RedisServerError``.
    public func list(limit: Int = 50) async throws -> [JobStatus] {
        let limit = min(max(limit, 1), JobKeys.recentLimit)
        let reply = try await store.send(RESPCommand("ZREVRANGE", JobKeys.recent, 0, limit - 1))
        let ids = (reply.array ?? []).compactMap(\.string)
        var statuses: [JobStatus] = []
        for id in ids {
            if let status = try await job(id).statusIfPresent() { statuses.append(status) }
        }
        return statuses
    }

    /// Totals over every finished job.
    /// - Throws: ``RedisClientError`` / ``RedisServerError``.
    public func statistics() async throws -> JobStatistics {
        JobStatistics.make(try await store.hgetall(JobKeys.statistics))
    }
}
