import Foundation
import RESP

/// A submitted job, found by id from any process: its status, live progress, cancel and result.
public struct Job: Sendable {
    /// The job id.
    public let id: String
    let client: JobClient

    /// The job's state and progress now.
    /// - Throws: ``JobError`` `notFound` for an unknown or expired job; ``RedisClientError``.
    public func status() async throws -> JobStatus {
        guard let status = try await statusIfPresent() else {
            throw notFound
        }
        return status
    }

    private var notFound: JobError { JobError(.notFound, "no job \(id) (never submitted, or expired with its results)") }

    func statusIfPresent() async throws -> JobStatus? {
        try await snapshot()?.status
    }

    /// The status with the record and partition hashes it was built from.
    private func snapshot() async throws -> (status: JobStatus, record: [String: [UInt8]], partitions: [String: [UInt8]])? {
        let replies = try await client.store.pipeline([
            RESPCommand("HGETALL", JobKeys.record(id)), RESPCommand("HGETALL", JobKeys.partitions(id)),
        ])
        let record = Self.hash(replies[0])
        let partitions = Self.hash(replies[1])
        guard var status = JobStatus.make(id: id, record: record, partitions: partitions, now: Date()) else { return nil }
        // The reduce task may have failed without recording the job (a worker that gave it up
        // at its hard time limit, a chord failed by a header task): its result says so.
        if status.state == .running || status.state == .reducing, let reduceID = status.reduceTaskID,
            let meta = try await client.app.backend.meta(for: reduceID),
            meta.state == .failure || meta.state == .revoked
        {
            status.state = .failed
            status.errors.insert("reduce task \(meta.state.rawValue): \(meta.result["exc_message"] ?? meta.result)", at: 0)
        }
        return (status, record, partitions)
    }

    static func hash(_ reply: RESPValue) -> [String: [UInt8]] {
        guard let array = reply.array else { return [:] }
        var hash: [String: [UInt8]] = [:]
        var index = 0
        while index + 1 < array.count {
            if let key = array[index].string, let value = array[index + 1].bytes { hash[key] = value }
            index += 2
        }
        return hash
    }

    /// The status every `interval` until the job finishes (the last element is the final status).
    /// Statuses that did not change are skipped.
    public func progress(every interval: Duration = .milliseconds(250)) -> AsyncThrowingStream<JobStatus, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var last: JobStatus?
                    while true {
                        let status = try await self.status()
                        if status != last {
                            continuation.yield(status)
                            last = status
                        }
                        if status.state.isFinished { break }
                        try await Task.sleep(for: interval)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Waits until the job finishes and returns its final status. It waits on the reduce task's
    /// result (published the moment it is stored), re-reading the status at least every `poll`
    /// (a cancelled job has no reduce result).
    /// - Throws: ``CeleriacError`` `timeout`; ``JobError`` `notFound`; ``RedisClientError``.
    public func wait(timeout: Duration? = nil, poll interval: Duration = .milliseconds(250)) async throws -> JobStatus {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            let status = try await status()
            if status.state.isFinished { return status }
            let left = deadline.map { $0 - ContinuousClock.now }
            if let left, left <= .zero {
                throw CeleriacError(.timeout, "job \(id) did not finish within \(timeout.map { "\($0)" } ?? "")")
            }
            let slice = min(left ?? interval, interval)
            if let reduceID = status.reduceTaskID {
                // Returns at once when the reduce result is stored; a timeout is the next poll.
                _ = try? await client.app.backend.waitForReadyState(of: reduceID, timeout: slice)
            } else {
                try await Task.sleep(for: slice)
            }
        }
    }

    /// Cancels the job: marks it `cancelled` (map tasks that have not started refuse to run,
    /// running ones see it within 250 ms and stop between items) and revokes its tasks with
    /// `terminate`, as `celery control revoke` does. Workers stay up.
    /// - Returns: `false` when the job had finished already.
    /// - Throws: ``JobError`` `notFound`; ``RedisClientError``.
    @discardableResult
    public func cancel() async throws -> Bool {
        guard let (status, record, partitions) = try await snapshot() else {
            throw notFound
        }
        guard !status.state.isFinished else { return false }
        let moved = try await client.store.evalScript(
            JobScripts.transition, keys: [JobKeys.record(id), JobKeys.statistics, JobKeys.partitions(id)],
            arguments: [
                JobState.cancelled.rawValue, Date().timeIntervalSince1970, status.itemsProcessed, status.failedItems,
                status.elapsed, status.function, client.ttlSeconds,
            ])
        var ids = (record["map_ids"].flatMap { try? JSONValue(parsing: $0) }?.arrayValue ?? []).compactMap(\.stringValue)
        // A job built by hand has no id list: its started partitions name their tasks.
        for entry in partitions.values {
            if let taskID = (try? JSONValue(parsing: entry))?["task_id"]?.stringValue, !ids.contains(taskID) { ids.append(taskID) }
        }
        if let reduceID = status.reduceTaskID { ids.append(reduceID) }
        if !ids.isEmpty { try await client.app.revoke(ids, terminate: true) }
        return moved.int == 1
    }

    /// The job's result (the reduce task's): `items`, `failed_items`, the function's keys,
    /// `partitions`, `failed_partitions`. Waits for the job to finish.
    /// - Throws: ``JobError`` `noResult` when it failed or was cancelled (with the reason);
    ///   ``CeleriacError`` `timeout`; ``JobError`` `notFound`.
    public func result(timeout: Duration? = nil) async throws -> JSONValue {
        let status = try await wait(timeout: timeout)
        let stored = try await client.store.send(RESPCommand("HMGET", JobKeys.record(id), "result", "error")).array ?? []
        let storedResult = stored.first?.bytes
        let storedError = stored.count > 1 ? stored[1].string : nil
        switch status.state {
        case .completed:
            if let storedResult, let result = try? JSONValue(parsing: storedResult) { return result }
            if let reduceID = status.reduceTaskID, let meta = try await client.app.backend.meta(for: reduceID),
                meta.state == .success
            {
                return meta.result
            }
            throw JobError(.noResult, "job \(id) completed but its result expired")
        case .cancelled:
            throw JobError(.noResult, "job \(id) was cancelled")
        default:
            let reason = storedError ?? status.errors.first ?? "see job status"
            throw JobError(.noResult, "job \(id) failed: \(reason)")
        }
    }

    /// The result decoded as `T` (e.g. your own `Codable` mirror of the function's result).
    /// - Throws: as ``result(timeout:)``; ``CeleriacError`` `encoding` when it does not decode.
    public func result<T: Decodable>(as type: T.Type, timeout: Duration? = nil) async throws -> T {
        try await result(timeout: timeout).decode(as: T.self)
    }
}
