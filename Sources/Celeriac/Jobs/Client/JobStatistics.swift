/// Totals over every finished job (the seed's `get_performance_stats`): jobs by outcome, items,
/// time, and items per second per function.
public struct JobStatistics: Sendable, Hashable {
    /// The totals of one function's jobs.
    public struct FunctionTotals: Sendable, Hashable {
        /// Finished jobs of the function, and by outcome; their items and summed run time.
        public var jobs = 0
        public var completed = 0
        public var failed = 0
        public var cancelled = 0
        public var items = 0
        public var seconds = 0.0
        /// Items over the jobs' summed run time.
        public var itemsPerSecond: Double { seconds > 0 ? Double(items) / seconds : 0 }
    }

    /// Finished jobs, and by outcome.
    public var jobs = 0
    public var completed = 0
    public var failed = 0
    public var cancelled = 0
    /// Items read and items failed, over all finished jobs.
    public var items = 0
    public var failedItems = 0
    /// The jobs' summed run time (first partition's start to the end).
    public var seconds = 0.0
    /// Items over ``seconds``.
    public var itemsPerSecond: Double { seconds > 0 ? Double(items) / seconds : 0 }
    /// By function name.
    public var functions: [String: FunctionTotals] = [:]

    /// Reads the statistics hash; unreadable numbers count as 0.
    static func make(_ hash: [String: [UInt8]]) -> JobStatistics {
        func integer(_ bytes: [UInt8]) -> Int { min(max(Int(String(decoding: bytes, as: UTF8.self)) ?? 0, 0), 1 << 60) }
        func real(_ bytes: [UInt8]) -> Double {
            Double(String(decoding: bytes, as: UTF8.self)).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } ?? 0
        }
        var statistics = JobStatistics()
        for (key, value) in hash {
            switch key {
            case "jobs": statistics.jobs = integer(value)
            case "completed": statistics.completed = integer(value)
            case "failed": statistics.failed = integer(value)
            case "cancelled": statistics.cancelled = integer(value)
            case "items": statistics.items = integer(value)
            case "failed_items": statistics.failedItems = integer(value)
            case "seconds": statistics.seconds = real(value)
            default:
                let parts = key.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count >= 3, parts[0] == "function" else { continue }
                let name = parts[1..<(parts.count - 1)].joined(separator: ":")
                var totals = statistics.functions[name] ?? FunctionTotals()
                switch parts[parts.count - 1] {
                case "jobs": totals.jobs = integer(value)
                case "completed": totals.completed = integer(value)
                case "failed": totals.failed = integer(value)
                case "cancelled": totals.cancelled = integer(value)
                case "items": totals.items = integer(value)
                case "seconds": totals.seconds = real(value)
                default: break
                }
                statistics.functions[name] = totals
            }
        }
        return statistics
    }

    /// The statistics as JSON (`celeriac job stats --json`).
    public var json: JSONValue {
        [
            "jobs": .integer(jobs), "completed": .integer(completed), "failed": .integer(failed),
            "cancelled": .integer(cancelled), "items": .integer(items), "failed_items": .integer(failedItems),
            "seconds": .double(seconds), "items_per_second": .double(itemsPerSecond),
            "functions": .object(
                JSONObject(
                    functions.sorted { $0.key < $1.key }.map { name, totals in
                        (
                            name,
                            [
                                "jobs": .integer(totals.jobs), "completed": .integer(totals.completed), "failed": .integer(totals.failed),
                                "cancelled": .integer(totals.cancelled), "items": .integer(totals.items),
                                "seconds": .double(totals.seconds), "items_per_second": .double(totals.itemsPerSecond),
                            ]
                        )
                    })),
        ]
    }
}
