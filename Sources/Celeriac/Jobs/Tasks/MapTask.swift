import Foundation
import RESP
import Synchronization

/// One run of `celeriac.jobs.map`: reads its partition, folds every item into the function's
/// partial, reports progress at most every 250 ms, and returns the ``PartitionSummary``.
///
/// A partition that cannot be processed as a whole (its file is gone, the function is unknown to
/// this worker, the output cannot be written) still returns a summary, with `failure` set: the
/// reduce step reports it and combines the other partitions. Cancellation (the job's state, or a
/// revoke with terminate) stops the loop between items.
struct MapTask {
    let context: TaskContext
    let functions: JobFunctions
    let jobID: String
    let partition: Int
    let partitions: Int?
    let datasetJSON: JSONValue
    let function: String
    let parameters: JSONValue
    let outputJSON: JSONValue?

    init(kwargs: JSONObject, context: TaskContext, functions: JobFunctions) throws {
        let name = JobTasks.mapTaskName
        self.context = context
        self.functions = functions
        jobID = try JobTasks.string(kwargs, "job_id", task: name)
        function = try JobTasks.string(kwargs, "function", task: name)
        guard let partition = kwargs["partition"]?.intValue, (0...JobPlanner.maximumPartitions * 100).contains(partition) else {
            throw TaskFailure(type: "TypeError", message: "\(name)() needs the integer argument 'partition' (0 or more)")
        }
        self.partition = partition
        partitions = kwargs["partitions"]?.intValue.flatMap { (1...JobPlanner.maximumPartitions * 100).contains($0) ? $0 : nil }
        guard let dataset = kwargs["dataset"], case .object = dataset else {
            throw TaskFailure(type: "TypeError", message: "\(name)() needs the object argument 'dataset'")
        }
        datasetJSON = dataset
        parameters = kwargs["params"] ?? .null
        outputJSON = kwargs["output"]
    }

    private var store: RedisConnectionPool { context.app.backend.pool }
    private var ttl: Int { JobTasks.ttlSeconds(context.app) }

    func run() async throws -> JSONValue {
        let began = Date()
        // The start and the final entry are what `job status` counts: retried through a
        // Redis outage (about a minute), as chord steps are; both are safe to repeat.
        let prior = try await RetryPolicy.chordStep.run { try await start() }
        if prior == JobState.cancelled.rawValue || prior == JobState.failed.rawValue || prior == JobState.completed.rawValue {
            var summary = PartitionSummary(partition: partition)
            summary.failure = "job \(jobID) is \(prior): partition not run"
            return summary.json
        }
        var summary: PartitionSummary
        var skippedReports = 0
        do {
            (summary, skippedReports) = try await process()
        } catch is CancellationError {
            _ = try? await record(["state": "cancelled"], began: began)
            throw CancellationError()
        } catch {
            // Any other end (the soft time limit included) is this partition's failure: the
            // chord must go on, or the reduce step would never run.
            summary = PartitionSummary(partition: partition)
            summary.failure = "\(error)"
            summary.seconds = Date().timeIntervalSince(began)
        }
        var entry: JSONObject = [
            "state": .string(summary.failure == nil ? "done" : "failed"), "processed": .integer(summary.items),
            "total": .integer(summary.items), "failed": .integer(summary.failedItems),
            "itemsPerSecond": .double(summary.seconds > 0 ? Double(summary.items) / summary.seconds : 0),
            "errors": .array(summary.errors.map { ["item": .integer($0.item), "error": .string($0.error)] }),
        ]
        if let failure = summary.failure { entry["error"] = .string(failure) }
        if skippedReports > 0 { entry["progress_reports_skipped"] = .integer(skippedReports) }
        _ = try await RetryPolicy.chordStep.run { try await record(entry, began: began) }
        return summary.json
    }

    /// Marks the partition started; returns the job's state before (`new` for a job built by hand).
    private func start() async throws -> String {
        let entry = progressEntry(["state": "running", "processed": 0, "total": 0, "failed": 0], began: Date())
        let reply = try await store.evalScript(
            JobScripts.start, keys: [JobKeys.record(jobID), JobKeys.partitions(jobID)],
            arguments: [
                Date().timeIntervalSince1970, partition, entry.serialized(), partitions.map(String.init) ?? "", function, ttl,
                jobID,
            ])
        return reply.string ?? "new"
    }

    private func progressEntry(_ fields: JSONObject, began: Date) -> JSONValue {
        var entry: JSONObject = ["partition": .integer(partition), "task_id": .string(context.id), "worker": .string(context.hostname)]
        for (key, value) in fields { entry[key] = value }
        entry["started_at"] = .double(began.timeIntervalSince1970)
        entry["updated_at"] = .double(Date().timeIntervalSince1970)
        return .object(entry)
    }

    /// Writes the partition's entry and returns whether the job was cancelled meanwhile.
    @discardableResult
    private func record(_ fields: JSONObject, began: Date) async throws -> Bool {
        let replies = try await store.pipeline([
            RESPCommand("HSET", JobKeys.partitions(jobID), partition, progressEntry(fields, began: began).serialized()),
            RESPCommand("HGET", JobKeys.record(jobID), "state"),
        ])
        return replies.count > 1 && replies[1].string == JobState.cancelled.rawValue
    }

    /// The partition's summary, and how many progress reports a Redis outage left out.
    private func process() async throws -> (PartitionSummary, Int) {
        let processor = try functions.make(function, parameters: parameters)
        let dataset = try DatasetPartition(json: datasetJSON)
        let output: (any ItemOutput)?
        switch try JobTasks.output(outputJSON) {
        case .directory(let directory)?: output = try FileItemOutput(directory: directory, partition: partition)
        case .redisList(let key)?: output = RedisListItemOutput(pool: context.app.broker.pool, key: key)
        case nil: output = nil
        }
        let cancelled = Atomic<Bool>(false)
        let skippedReports = Atomic<Int>(0)
        let began = Date()
        let context = context
        let monitor = PartitionMonitor(
            checkStop: {
                try context.checkCancellation()
                if cancelled.load(ordering: .relaxed) { throw CancellationError() }
            },
            report: PartitionMonitor.tolerant(
                { progress in
                    guard !progress.done else { return }
                    try await context.updateState("PROGRESS", meta: progress.meta)
                    let fields: JSONObject = [
                        "state": "running", "processed": .integer(progress.processed), "total": .integer(progress.total),
                        "failed": .integer(progress.failed), "itemsPerSecond": progress.meta["itemsPerSecond"] ?? 0,
                    ]
                    if try await self.record(fields, began: began) { cancelled.store(true, ordering: .relaxed) }
                }, skipped: { _ in skippedReports.add(1, ordering: .relaxed) }))
        let summary: PartitionSummary
        switch dataset {
        case .redisList(let key, let start, let stop):
            var reader = RedisListReader(pool: context.app.broker.pool, key: key, start: start, stop: stop, keep: processor.fieldsRead)
            summary = try await processor.process(partition: partition, reader: &reader, output: output, monitor: monitor)
        case .jsonLines, .csv:
            var reader = try FileRecordReader(dataset, keep: processor.fieldsRead)
            summary = try await processor.process(partition: partition, reader: &reader, output: output, monitor: monitor)
        }
        return (summary, skippedReports.load(ordering: .relaxed))
    }
}
