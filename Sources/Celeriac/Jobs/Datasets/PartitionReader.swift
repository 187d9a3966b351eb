/// One record of a dataset: an item, or a line that could not be read as one.
enum DatasetRecord {
    case item(JSONObject)
    /// Not valid JSON, not an object, or a CSV row with the wrong number of fields: one failed item.
    case malformed(String)
}

/// Reads one partition's records in batches, with bounded memory whatever the dataset's size.
protocol PartitionReader {
    /// The next records, `nil` after the last.
    /// - Throws: ``JobError`` `datasetUnavailable` when the source cannot be read.
    mutating func nextBatch() async throws -> [DatasetRecord]?
    /// The partition's size, estimated from what was read so far.
    func estimatedTotal(afterReading records: Int) -> Int
}
