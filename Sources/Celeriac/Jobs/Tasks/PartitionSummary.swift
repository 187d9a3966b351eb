/// What a map task returns for its partition: counts, the first item errors, and the function's
/// partial summary, never the items themselves. This is the JSON the reduce task receives, so a
/// Python chord can inspect it too:
///
/// `{"partition": 3, "items": 125000, "failed_items": 2, "errors": [{"item": 17, "error": "..."}],
///   "written": 0, "seconds": 1.9, "failure": null, "partial": {...}}`
public struct PartitionSummary: Sendable, Hashable {
    /// One failed item: its position in the partition (0-based) and why.
    public struct ItemError: Sendable, Hashable {
        /// The record's position in the partition (0-based).
        public var item: Int
        /// Why it failed.
        public var error: String
    }

    /// At most this many item errors are kept per partition.
    public static let keptErrors = 5

    /// The partition's index.
    public var partition: Int
    /// Records read (items and malformed lines).
    public var items = 0
    /// Records that were malformed or that the function refused.
    public var failedItems = 0
    /// The first ``keptErrors`` item errors.
    public var errors: [ItemError] = []
    /// Items written to the job's output.
    public var written = 0
    /// How long the map loop ran.
    public var seconds = 0.0
    /// Why the partition failed as a whole (unreadable source, a bug), or `nil`.
    public var failure: String?
    /// The function's partial summary, `null` when the partition failed.
    public var partial: JSONValue = .null

    /// An empty summary of partition `partition`.
    public init(partition: Int) {
        self.partition = partition
    }

    /// Counts one failed item, keeping its error while there is room.
    mutating func recordFailure(at index: Int, _ error: String) {
        failedItems += 1
        if errors.count < Self.keptErrors { errors.append(ItemError(item: index, error: String(error.prefix(300)))) }
    }

    /// The summary as the map task's JSON result.
    public var json: JSONValue {
        [
            "partition": .integer(partition), "items": .integer(items), "failed_items": .integer(failedItems),
            "errors": .array(errors.map { ["item": .integer($0.item), "error": .string($0.error)] }),
            "written": .integer(written), "seconds": .double(seconds), "failure": failure.map(JSONValue.string) ?? .null,
            "partial": partial,
        ]
    }

    /// Reads a map task's result; anything else (a worker's error, a foreign shape) is a failed
    /// partition with the reason.
    public init(json: JSONValue, partition fallback: Int) {
        // Counts past 2^50 are no partition's: refused, so no sum of them can overflow.
        let limit = DatasetPartition.maximumOffset
        guard case .object(let object) = json, let items = object["items"]?.intValue, (0...limit).contains(items),
            let failed = object["failed_items"]?.intValue, (0...items).contains(failed)
        else {
            self.init(partition: fallback)
            failure = "not a partition summary: \(json.serializedString.prefix(200))"
            return
        }
        self.init(partition: object["partition"]?.intValue ?? fallback)
        self.items = items
        self.failedItems = failed
        self.written = min(max(object["written"]?.intValue ?? 0, 0), limit)
        self.seconds = object["seconds"]?.doubleValue.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } ?? 0
        self.failure = object["failure"]?.stringValue
        self.partial = object["partial"] ?? .null
        self.errors = (object["errors"]?.arrayValue ?? []).prefix(Self.keptErrors).compactMap { error in
            guard let item = error["item"]?.intValue, let text = error["error"]?.stringValue else { return nil }
            return ItemError(item: item, error: text)
        }
    }
}
