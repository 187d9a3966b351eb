import Foundation

/// A job's state and progress, as ``Job/status()`` reads it from Redis.
public struct JobStatus: Sendable, Hashable {
    /// The job id.
    public var id: String
    /// Where the job is.
    public var state: JobState
    /// The processing function's name.
    public var function: String
    /// The dataset as the submitter named it (`/data/x.jsonl`, `redis-list:items`).
    public var dataset: String
    /// Who submitted it: `user (origin)`.
    public var submittedBy: String?
    /// When it was submitted.
    public var submittedAt: Date?
    /// When the first partition started.
    public var startedAt: Date?
    /// When it ended.
    public var finishedAt: Date?
    /// Partitions in all.
    public var partitionsTotal: Int
    /// Partitions processed.
    public var partitionsDone: Int
    /// Partitions that failed as a whole.
    public var partitionsFailed: Int
    /// Partitions being processed now.
    public var partitionsRunning: Int
    /// Records read so far (failed ones included).
    public var itemsProcessed: Int
    /// Estimated until every partition has been read, then exact.
    public var itemsTotal: Int
    /// Records that were malformed or that the function refused.
    public var failedItems: Int
    /// Items processed over the elapsed time.
    public var itemsPerSecond: Double
    /// Seconds since the first partition started (or since submit, while pending), until the end.
    public var elapsed: Double
    /// Seconds left at the current rate, while running.
    public var eta: Double?
    /// The first item and partition errors.
    public var errors: [String]
    /// The reduce task's id: its result is the job's.
    public var reduceTaskID: String?

    /// The fraction done, 0...1, by items.
    public var fraction: Double {
        if state == .completed { return 1 }
        return itemsTotal > 0 ? min(Double(itemsProcessed) / Double(itemsTotal), 1) : 0
    }

    /// Builds the status from the job's record and partition hashes; `nil` when both are empty
    /// (no such job, or it expired). Values of other writers are hostile: unreadable fields count
    /// as absent, numbers are clamped.
    static func make(id: String, record: [String: [UInt8]], partitions: [String: [UInt8]], now: Date) -> JobStatus? {
        guard !record.isEmpty || !partitions.isEmpty else { return nil }
        func text(_ key: String) -> String? { record[key].map { String(decoding: $0, as: UTF8.self) } }
        func count(_ key: String) -> Int? { text(key).flatMap { Int($0) }.map { min(max($0, 0), 1 << 50) } }
        func date(_ key: String) -> Date? {
            text(key).flatMap(Double.init).flatMap { $0.isFinite && $0 > 0 && $0 < 1e11 ? Date(timeIntervalSince1970: $0) : nil }
        }
        var progress: [JSONValue] = []
        for (_, bytes) in partitions.sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
            if let value = try? JSONValue(parsing: bytes), case .object = value { progress.append(value) }
        }
        func clamped(_ value: JSONValue?) -> Int { min(max(value?.intValue ?? 0, 0), 1 << 50) }
        let done = progress.filter { $0["state"]?.stringValue == "done" }
        let failed = progress.filter { $0["state"]?.stringValue == "failed" }
        let running = progress.filter { $0["state"]?.stringValue == "running" }
        let total = max(count("partitions_total") ?? progress.count, progress.count)
        let processed = progress.reduce(0) { $0.addingSaturated(clamped($1["processed"])) }
        let estimated = count("items_estimated") ?? 0
        let perPartition = total > 0 ? Double(estimated) / Double(total) : 0
        // A partition that has just started has no estimate of its own yet: the job's share.
        let known = progress.reduce(0) { sum, entry in
            let reported = max(clamped(entry["total"]), clamped(entry["processed"]))
            let done = entry["state"]?.stringValue != "running"
            return sum.addingSaturated(reported > 0 || done ? reported : Int(min(perPartition, 1e15).rounded()))
        }
        let unseenPartitions = Double(max(total - progress.count, 0))
        let unseen = Int(min(unseenPartitions * perPartition, 1e15).rounded())
        var state = text("state").flatMap(JobState.init(rawValue:)) ?? (progress.isEmpty ? .pending : .running)
        if state == .pending, !progress.isEmpty { state = .running }

        let submitted = date("submitted_at")
        let started = date("started_at")
        let finished = date("finished_at")
        let from = started ?? submitted ?? now
        let until = state.isFinished ? (finished ?? now) : now
        let elapsed = max(until.timeIntervalSince(from), 0)
        let itemsProcessed = state.isFinished ? max(count("items_processed") ?? processed, processed) : processed
        let ips = elapsed > 0 ? Double(itemsProcessed) / elapsed : 0
        let itemsTotal = state == .completed ? itemsProcessed : max(known.addingSaturated(unseen), itemsProcessed)
        var errors: [String] = []
        for entry in progress {
            let partition = entry["partition"]?.intValue ?? -1
            if let error = entry["error"]?.stringValue, errors.count < 10 { errors.append("partition \(partition): \(error)") }
            for item in entry["errors"]?.arrayValue ?? [] where errors.count < 10 {
                if let message = item["error"]?.stringValue {
                    errors.append("partition \(partition) item \(item["item"]?.intValue ?? -1): \(message)")
                }
            }
        }
        let eta: Double? = state == .running && ips > 0 ? Double(max(itemsTotal - itemsProcessed, 0)) / ips : nil
        return JobStatus(
            id: id, state: state, function: text("function") ?? "?", dataset: text("dataset") ?? "?",
            submittedBy: text("submitted_by"), submittedAt: submitted, startedAt: started, finishedAt: finished,
            partitionsTotal: total, partitionsDone: done.count, partitionsFailed: failed.count,
            partitionsRunning: running.count, itemsProcessed: itemsProcessed, itemsTotal: itemsTotal,
            failedItems: state.isFinished
                ? max(count("failed_items") ?? 0, progress.reduce(0) { $0.addingSaturated(clamped($1["failed"])) })
                : progress.reduce(0) { $0.addingSaturated(clamped($1["failed"])) },
            itemsPerSecond: ips, elapsed: elapsed, eta: eta, errors: errors, reduceTaskID: text("reduce_id"))
    }

    /// The status as JSON (`celeriac job status --json`): `id`, `state`, `partitions_total`,
    /// `partitions_done`, `items_processed` and more.
    public var json: JSONValue {
        func iso(_ date: Date?) -> JSONValue { date.map { .string(CeleryTimestamp.format($0)) } ?? .null }
        return [
            "id": .string(id), "state": .string(state.rawValue), "function": .string(function), "dataset": .string(dataset),
            "partitions_total": .integer(partitionsTotal), "partitions_done": .integer(partitionsDone),
            "partitions_failed": .integer(partitionsFailed), "partitions_running": .integer(partitionsRunning),
            "items_processed": .integer(itemsProcessed), "items_total": .integer(itemsTotal),
            "failed_items": .integer(failedItems), "items_per_second": .double(itemsPerSecond),
            "elapsed_seconds": .double(elapsed), "eta_seconds": eta.map(JSONValue.double) ?? .null,
            "submitted_by": submittedBy.map(JSONValue.string) ?? .null, "submitted_at": iso(submittedAt),
            "started_at": iso(startedAt), "finished_at": iso(finishedAt), "errors": .array(errors.map(JSONValue.string)),
            "reduce_task_id": reduceTaskID.map(JSONValue.string) ?? .null,
        ]
    }
}
