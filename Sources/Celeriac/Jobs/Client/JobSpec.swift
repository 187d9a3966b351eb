/// What a job processes and how: the dataset, the function (name and JSON parameters), the
/// partition size, the queue and priority of its tasks, and when it counts as failed.
///
/// ```swift
/// let spec = JobSpec(
///     dataset: .jsonLines(path: "/data/people.jsonl"), function: "analysis",
///     parameters: ["fields": ["score", "amount"]])
/// let job = try await app.jobs.submit(spec)
/// ```
public struct JobSpec: Sendable, Hashable {
    /// How big partitions are.
    public enum PartitionSize: Sendable, Hashable {
        /// About this many items per partition.
        case items(Int)
        /// Several partitions per live worker slot (asked with `inspect stats`), so the queue
        /// balances the load; see ``JobPlanner/automaticPartitionSize(items:slots:)``.
        case automatic
        /// As ``automatic``, for this many slots (no `inspect` round trip), for a caller that
        /// knows the workers of the job's queue: sized from the same measure of the dataset as
        /// the partitions, so a large dataset gets `4 × slots` even partitions (a size computed
        /// from an exact item count can give one more, which leaves one slot a partition behind).
        case slots(Int)
    }

    /// What to process.
    public var dataset: DatasetSource
    /// The processing function's name (`validation`, `analysis`, ... or a registered one).
    public var function: String
    /// Its parameters (a JSON object), checked at submit.
    public var parameters: JSONValue
    /// How big partitions are.
    public var partitionSize: PartitionSize
    /// The queue of the map and reduce tasks.
    public var queue: String
    /// Their priority (0–9), if any.
    public var priority: Int?
    /// The job fails when more partitions than this fail as a whole; `nil`: only when all do.
    public var maxFailedPartitions: Int?
    /// Where functions that produce items (transformation, enrichment) write them.
    public var output: JobOutputTarget?

    /// A spec; see the properties for each argument.
    public init(
        dataset: DatasetSource, function: String, parameters: JSONValue = [:], partitionSize: PartitionSize = .automatic,
        queue: String = "celery", priority: Int? = nil, maxFailedPartitions: Int? = nil, output: JobOutputTarget? = nil
    ) {
        self.dataset = dataset
        self.function = function
        self.parameters = parameters
        self.partitionSize = partitionSize
        self.queue = queue
        self.priority = priority
        self.maxFailedPartitions = maxFailedPartitions
        self.output = output
    }
}

/// A dataset as a job names it.
public enum DatasetSource: Sendable, Hashable, CustomStringConvertible {
    /// A JSON Lines file on storage every worker reads (one object per line).
    case jsonLines(path: String)
    /// A CSV file with a header line, on shared storage.
    case csv(path: String)
    /// A Redis list of JSON objects, in the broker's database.
    case redisList(key: String)

    /// Reads the command line's form: `redis-list:KEY`, or a path whose format is `format`
    /// (`jsonl` or `csv`; by the file's extension when `nil`).
    /// - Throws: ``JobError`` `invalidSpec` for an unknown format.
    public init(argument: String, format: String? = nil) throws {
        if argument.hasPrefix("redis-list:") {
            let key = String(argument.dropFirst("redis-list:".count))
            guard !key.isEmpty else { throw JobError(.invalidSpec, "redis-list: needs a key, e.g. redis-list:items") }
            self = .redisList(key: key)
            return
        }
        switch format ?? (argument.lowercased().hasSuffix(".csv") ? "csv" : "jsonl") {
        case "jsonl", "json", "ndjson": self = .jsonLines(path: argument)
        case "csv": self = .csv(path: argument)
        case let other: throw JobError(.invalidSpec, "unknown dataset format '\(other)' (jsonl or csv)")
        }
    }

    public var description: String {
        switch self {
        case .jsonLines(let path): path
        case .csv(let path): path
        case .redisList(let key): "redis-list:\(key)"
        }
    }

    /// The format name of map tasks' `dataset.format`.
    var format: String {
        switch self {
        case .jsonLines: "jsonl"
        case .csv: "csv"
        case .redisList: "redis_list"
        }
    }
}

/// Where produced items go.
public enum JobOutputTarget: Sendable, Hashable, CustomStringConvertible {
    /// A directory on shared storage: `part-00000.jsonl` per partition and `manifest.json`.
    case directory(String)
    /// A Redis list (in the broker's database), items appended as JSON.
    case redisList(key: String)

    /// Reads `redis-list:KEY` or a directory path.
    public init(argument: String) {
        if argument.hasPrefix("redis-list:") {
            self = .redisList(key: String(argument.dropFirst("redis-list:".count)))
        } else {
            self = .directory(argument)
        }
    }

    public var description: String {
        switch self {
        case .directory(let path): path
        case .redisList(let key): "redis-list:\(key)"
        }
    }
}
