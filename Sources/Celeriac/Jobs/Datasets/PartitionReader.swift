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

    /// Hands the next records to `body` as JSON texts, unparsed (for the map loop's fast path,
    /// ``JSONRecordScanner``); `true` while records may follow, `false` after the last, `nil` when
    /// this reader's records are not JSON texts (CSV rows): use ``nextBatch()``.
    /// - Throws: what `body` throws, or ``JobError`` `datasetUnavailable`.
    mutating func nextTexts(_ body: (RecordText) throws -> Void) async throws -> Bool?
}

/// One record as a JSON text not yet parsed: `bytes[range]`, valid while `body` runs.
enum RecordText {
    case json(bytes: [UInt8], range: Range<Int>)
    /// A line the reader already refused (too long): one failed item.
    case malformed(String)
}

extension PartitionReader {
    mutating func nextTexts(_ body: (RecordText) throws -> Void) async throws -> Bool? { nil }
}
