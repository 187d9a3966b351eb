/// One live report of a partition being processed, sent at most every 250 ms.
public struct PartitionProgress: Sendable, Hashable {
    public var partition: Int
    public var processed: Int
    /// The partition's size: estimated from the bytes read until the end, then exact.
    public var total: Int
    public var failed: Int
    public var itemsPerSecond: Double
    public var done: Bool

    /// The PROGRESS meta of the map task (`partition`, `processed`, `total`, `itemsPerSecond`, `failed`).
    public var meta: JSONValue {
        [
            "partition": .integer(partition), "processed": .integer(processed), "total": .integer(total),
            "itemsPerSecond": .double(itemsPerSecond.isFinite ? itemsPerSecond : 0), "failed": .integer(failed),
        ]
    }
}

/// What the map loop is told to do around items: stop (cancelled, soft limit) and report progress.
struct PartitionMonitor {
    var interval: Duration = .milliseconds(250)
    /// Called between items; throws to stop the partition.
    var checkStop: () throws -> Void = {}
    /// Called at most every ``interval`` and once at the end.
    var report: (PartitionProgress) async throws -> Void = { _ in }

    /// `write` as a progress report that a temporary Redis failure (a dropped connection, a
    /// timeout, `LOADING`) does not turn into a failed partition: progress is advisory, the next
    /// report comes an interval later, and the task's result is stored with its own retries.
    /// `skipped` is told of each report left out; any other error still stops the partition.
    static func tolerant(
        _ write: @escaping (PartitionProgress) async throws -> Void, skipped: @escaping (any Error) -> Void
    ) -> (PartitionProgress) async throws -> Void {
        { progress in
            do {
                try await write(progress)
            } catch let error where error.isTemporaryRedisFailure {
                skipped(error)
            }
        }
    }
}

/// Where a function's output items go (a JSON Lines file per partition, or a Redis list).
protocol ItemOutput: AnyObject {
    func write(_ item: JSONObject) async throws
    /// Flushes what is buffered.
    func finish() async throws
}

/// A job function with its type erased, as the map and reduce tasks run it.
protocol PartitionProcessing: Sendable {
    /// The fields the function reads (`nil`: all), for the reader to build only those.
    var fieldsRead: Set<String>? { get }

    /// Whether JSON records are read through ``JSONRecordScanner`` for this function.
    var readsRecordViews: Bool { get }

    /// Runs the map loop over one partition's records.
    /// - Throws: what `monitor` throws (cancellation), or the reader's error for a partition that
    ///   cannot be read.
    func process<Reader: PartitionReader>(
        partition: Int, reader: inout Reader, output: (any ItemOutput)?, monitor: PartitionMonitor
    ) async throws -> PartitionSummary

    /// Merges the partials of `summaries` (partitions that failed, or whose partial does not
    /// decode, are listed and left out) into the function's result.
    func reduce(_ summaries: [PartitionSummary]) -> JobReduction
}

/// The reduce step's outcome: the function's result and the partitions it could not use.
struct JobReduction {
    var result: JSONObject
    var items = 0
    var failedItems = 0
    var written = 0
    var failedPartitions: [(partition: Int, reason: String)] = []
    var itemErrors: [(partition: Int, item: Int, error: String)] = []
}

/// The map loop and reduce of one ``JobFunction``.
struct PartitionProcessor<Function: JobFunction>: PartitionProcessing {
    let function: Function
    /// The function's view path (``RecordViewFunction``): the fields it reads and its map.
    private let viewPath: (fields: [String], map: @Sendable (borrowing JSONRecordView, inout Function.Partial) throws -> Void)?

    init(function: Function) {
        self.function = function
        viewPath = nil
    }

    init(function: Function) where Function: RecordViewFunction {
        self.function = function
        viewPath = function.viewFields.map { fields in (fields, { try function.map(view: $0, into: &$1) }) }
    }

    var fieldsRead: Set<String>? { function.fieldsRead }
    var readsRecordViews: Bool { viewPath != nil }

    func process<Reader: PartitionReader>(
        partition: Int, reader: inout Reader, output: (any ItemOutput)?, monitor: PartitionMonitor
    ) async throws -> PartitionSummary {
        let clock = ContinuousClock()
        let began = clock.now
        var nextReport = began + monitor.interval
        var summary = PartitionSummary(partition: partition)
        var partial = function.makePartial()
        func progress(done: Bool) -> PartitionProgress {
            let elapsed = (clock.now - began).timeInterval
            return PartitionProgress(
                partition: partition, processed: summary.items,
                total: done ? summary.items : max(reader.estimatedTotal(afterReading: summary.items), summary.items),
                failed: summary.failedItems, itemsPerSecond: elapsed > 0 ? Double(summary.items) / elapsed : 0, done: done)
        }
        var recordsLeft = true
        if let viewPath {
            // The fast path: JSON texts scanned for the function's fields; what the scanner
            // leaves alone is parsed and mapped as an object, as below.
            var scanner = JSONRecordScanner(fields: viewPath.fields)
            var layouts: [JSONKeyLayout] = []
            let filter = function.fieldsRead.map(JSONFieldFilter.init)
            while recordsLeft,
                let more = try await reader.nextTexts({ text in
                    try monitor.checkStop()
                    let index = summary.items
                    summary.items += 1
                    do {
                        switch text {
                        case .malformed(let reason):
                            summary.recordFailure(at: index, reason)
                        case .json(let bytes, let range):
                            defer { scanner.release() }
                            if scanner.scan(bytes, range) {
                                try viewPath.map(scanner.view, &partial)
                            } else {
                                switch FileRecordReader.record(json: bytes, range, layouts: &layouts, keep: filter) {
                                case .malformed(let reason): summary.recordFailure(at: index, reason)
                                case .item(let item): _ = try function.map(item, into: &partial)
                                }
                            }
                        }
                    } catch {
                        summary.recordFailure(at: index, "\(error)")
                    }
                })
            {
                recordsLeft = more
                if clock.now >= nextReport {
                    try await monitor.report(progress(done: false))
                    nextReport = clock.now + monitor.interval
                }
            }
        }
        while recordsLeft, let batch = try await reader.nextBatch() {
            for record in batch {
                try monitor.checkStop()
                let index = summary.items
                summary.items += 1
                switch record {
                case .malformed(let reason):
                    summary.recordFailure(at: index, reason)
                case .item(let item):
                    do {
                        if let produced = try function.map(item, into: &partial), let output {
                            try await output.write(produced)
                            summary.written += 1
                        }
                    } catch let error as JobOutputError {
                        throw error
                    } catch {
                        summary.recordFailure(at: index, "\(error)")
                    }
                }
            }
            if clock.now >= nextReport {
                try await monitor.report(progress(done: false))
                nextReport = clock.now + monitor.interval
            }
        }
        try await output?.finish()
        summary.seconds = (clock.now - began).timeInterval
        summary.partial = try JSONValue(encoding: partial)
        try await monitor.report(progress(done: true))
        return summary
    }

    func reduce(_ summaries: [PartitionSummary]) -> JobReduction {
        var total = function.makePartial()
        var reduction = JobReduction(result: [:])
        for summary in summaries.sorted(by: { $0.partition < $1.partition }) {
            if let failure = summary.failure {
                reduction.failedPartitions.append((summary.partition, failure))
                continue
            }
            let partial: Function.Partial
            do {
                partial = try summary.partial.decode(as: Function.Partial.self)
            } catch {
                reduction.failedPartitions.append((summary.partition, "its partial does not decode: \(error)"))
                continue
            }
            function.merge(partial, into: &total)
            reduction.items = reduction.items.addingSaturated(summary.items)
            reduction.failedItems = reduction.failedItems.addingSaturated(summary.failedItems)
            reduction.written = reduction.written.addingSaturated(summary.written)
            for error in summary.errors where reduction.itemErrors.count < 20 {
                reduction.itemErrors.append((summary.partition, error.item, error.error))
            }
        }
        reduction.result = function.result(of: total)
        return reduction
    }
}
