import Foundation
import RESP

/// One run of `celeriac.jobs.reduce`, the chord body: merges the partitions' summaries, decides
/// the job's final state, records it with the statistics, and returns the job's result.
struct ReduceTask {
    let context: TaskContext
    let functions: JobFunctions
    let partials: [JSONValue]
    let jobID: String
    let function: String
    let parameters: JSONValue
    let maxFailedPartitions: Int?
    let outputJSON: JSONValue?

    init(args: [JSONValue], kwargs: JSONObject, context: TaskContext, functions: JobFunctions) throws {
        let name = JobTasks.reduceTaskName
        guard let partials = (args.first ?? kwargs["partials"])?.arrayValue else {
            throw TaskFailure(type: "TypeError", message: "\(name)() needs the list of partition summaries as its first argument")
        }
        self.partials = partials
        self.context = context
        self.functions = functions
        jobID = try JobTasks.string(kwargs, "job_id", task: name)
        function = try JobTasks.string(kwargs, "function", task: name)
        parameters = kwargs["params"] ?? .null
        maxFailedPartitions = kwargs["max_failed_partitions"]?.intValue.map { max($0, 0) }
        outputJSON = kwargs["output"]
    }

    private var store: RedisConnectionPool { context.app.backend.pool }

    /// The job's final state for `failed` failed partitions out of `total` (pure).
    static func finalState(failed: Int, total: Int, maxFailedPartitions: Int?) -> JobState {
        if let limit = maxFailedPartitions { return failed > limit ? .failed : .completed }
        return total > 0 && failed >= total ? .failed : .completed
    }

    func run() async throws -> JSONValue {
        _ = try await transition(to: .reducing, items: 0, failedItems: 0, seconds: 0)
        let processor: any PartitionProcessing
        do {
            processor = try functions.make(function, parameters: parameters)
        } catch {
            try await finish(.failed, result: nil, error: "\(error)", items: 0, failedItems: 0)
            throw TaskFailure(type: "JobFailed", module: "celeriac", message: "job \(jobID): \(error)")
        }
        let summaries = partials.enumerated().map { PartitionSummary(json: $1, partition: $0) }
        let reduction = processor.reduce(summaries)
        let state = Self.finalState(
            failed: reduction.failedPartitions.count, total: summaries.count, maxFailedPartitions: maxFailedPartitions)

        var result = reduction.resultObject(partitions: summaries.count)
        if case .directory(let directory)? = try JobTasks.output(outputJSON) {
            result["output"] = .string(try writeManifest(directory: directory, summaries: summaries))
        }
        let failure =
            state == .failed
            ? "\(reduction.failedPartitions.count) of \(summaries.count) partitions failed: "
                + (reduction.failedPartitions.first.map { "partition \($0.partition): \($0.reason)" } ?? "")
            : nil
        try await finish(state, result: .object(result), error: failure, items: reduction.items, failedItems: reduction.failedItems)
        if let failure { throw TaskFailure(type: "JobFailed", module: "celeriac", message: "job \(jobID): \(failure)") }
        return .object(result)
    }

    /// Stores the result in the job's record and moves it to its final state (unless a cancel
    /// got there first), adding it to the statistics.
    private func finish(_ state: JobState, result: JSONValue?, error: String?, items: Int, failedItems: Int) async throws {
        // Only the two times: the record also holds the spec and every map task's id.
        let times = try await store.send(RESPCommand("HMGET", JobKeys.record(jobID), "started_at", "submitted_at"))
        let now = Date().timeIntervalSince1970
        let since =
            (times.array ?? []).lazy.compactMap { $0.string.flatMap(Double.init) }
            .first { $0.isFinite && $0 > 0 && $0 <= now } ?? now
        var fields: [any RESPArgument] = [JobKeys.record(jobID)]
        if let result { fields += ["result", result.serialized()] }
        if let error { fields += ["error", error] }
        if fields.count > 1 { try await store.send(RESPCommand("HSET", arguments: fields)) }
        _ = try await transition(to: state, items: items, failedItems: failedItems, seconds: now - since)
    }

    private func transition(to state: JobState, items: Int, failedItems: Int, seconds: Double) async throws -> Bool {
        let reply = try await store.evalScript(
            JobScripts.transition, keys: [JobKeys.record(jobID), JobKeys.statistics, JobKeys.partitions(jobID)],
            arguments: [
                state.rawValue, Date().timeIntervalSince1970, items, failedItems, max(seconds, 0), function,
                JobTasks.ttlSeconds(context.app),
            ])
        return reply.int == 1
    }

    /// Writes `manifest.json` next to the part files: the parts, their item counts, the total.
    private func writeManifest(directory: String, summaries: [PartitionSummary]) throws -> String {
        let parts = summaries.filter { $0.failure == nil }.sorted { $0.partition < $1.partition }.map { summary -> JSONValue in
            [
                "partition": .integer(summary.partition), "path": .string(FileItemOutput.partName(summary.partition)),
                "items": .integer(summary.written),
            ]
        }
        let manifest: JSONValue = [
            "job_id": .string(jobID), "function": .string(function), "parts": .array(parts),
            "items": .integer(summaries.reduce(0) { $0 + ($1.failure == nil ? $1.written : 0) }),
        ]
        let path = (directory as NSString).appendingPathComponent("manifest.json")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(manifest.serialized()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw TaskFailure(type: "OSError", message: "cannot write \(path): \(error)")
        }
        return path
    }
}
