import Foundation
import RESP

/// What a submitter learns of a dataset before splitting it.
public struct DatasetMeasure: Sendable, Hashable {
    /// Bytes of a file (after a CSV header), or elements of a list.
    public var size: Int
    /// Items: exact for a list or a small file, else estimated from a sample of lines.
    public var estimatedItems: Int
    /// Whether ``estimatedItems`` was counted rather than estimated.
    public var isExact: Bool
    /// Where the records begin: past a CSV header, else 0.
    public var firstByte = 0
    /// A CSV file's column names.
    public var columns: [String]?
}

/// The pure decisions of submitting a job: partition size and byte / index ranges.
public enum JobPlanner {
    /// Partitions per live worker slot that automatic sizing aims at: enough that a slow slot
    /// or a late worker does not leave others idle at the end, few enough that per-task costs
    /// stay negligible.
    public static let partitionsPerSlot = 4
    /// Bounds of automatic sizing, in items.
    public static let automaticSizeRange = 1_000...250_000
    /// The most partitions a job may have (each is a task and a chord member).
    public static let maximumPartitions = 10_000

    /// Items per partition for `items` items on `slots` worker slots: ``partitionsPerSlot``
    /// partitions per slot, kept within ``automaticSizeRange`` (so progress stays live on big
    /// datasets and tiny ones are not shredded).
    public static func automaticPartitionSize(items: Int, slots: Int) -> Int {
        let slots = min(max(slots, 1), 100_000)
        let target = slots * partitionsPerSlot
        let size = (max(items, 1) + target - 1) / target
        return min(max(size, automaticSizeRange.lowerBound), automaticSizeRange.upperBound)
    }

    /// Splits a dataset into partitions of about `partitionSize` items. Files are split into even
    /// byte ranges (each map task aligns its range to line starts, see ``FileLineReader``); lists
    /// into index ranges. At most ``maximumPartitions``: a smaller size is raised to fit.
    public static func partitions(
        of source: DatasetSource, measure: DatasetMeasure, partitionSize: Int
    ) -> [DatasetPartition] {
        let items = max(measure.estimatedItems, 1)
        let count = min(max((items + max(partitionSize, 1) - 1) / max(partitionSize, 1), 1), maximumPartitions)
        switch source {
        case .redisList(let key):
            guard measure.size > 0 else { return [] }
            let count = min(count, measure.size)
            return (0..<count).map { index in
                let start = measure.size * index / count
                let stop = measure.size * (index + 1) / count - 1
                return .redisList(key: key, start: start, stop: stop)
            }
        case .jsonLines(let path), .csv(let path):
            let bytes = measure.size
            guard bytes > 0 else { return [] }
            let count = min(count, bytes)
            return (0..<count).map { index in
                let start = measure.firstByte + bytes * index / count
                let end = measure.firstByte + bytes * (index + 1) / count
                if case .csv = source { return .csv(path: path, start: start, end: end, columns: measure.columns) }
                return .jsonLines(path: path, start: start, end: end)
            }
        }
    }

    /// How many bytes of a file are sampled to estimate its line count.
    static let sampleBytes = 1 << 20

    /// Measures a dataset: a file's size and estimated lines (from its first MiB; counted exactly
    /// when it is smaller), a CSV header, a list's length.
    /// - Throws: ``JobError`` `datasetUnavailable` for a missing, unreadable or empty dataset.
    public static func measure(_ source: DatasetSource, broker: RedisConnectionPool) async throws -> DatasetMeasure {
        switch source {
        case .redisList(let key):
            let length: Int
            do {
                length = try await broker.llen(key)
            } catch {
                throw JobError(.datasetUnavailable, "cannot read Redis list \(key): \(error)")
            }
            guard length > 0 else { throw JobError(.datasetUnavailable, "Redis list \(key) is empty or missing") }
            return DatasetMeasure(size: length, estimatedItems: length, isExact: true)
        case .jsonLines, .csv:
            return try measureFile(source)
        }
    }

    /// Measures a file dataset (see ``measure(_:broker:)``).
    /// - Throws: ``JobError`` `datasetUnavailable`.
    static func measureFile(_ source: DatasetSource) throws -> DatasetMeasure {
        switch source {
        case .redisList:
            throw JobError(.invalidSpec, "\(source) is not a file")
        case .jsonLines(let path), .csv(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw JobError(.datasetUnavailable, "input file \(path) does not exist")
            }
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let fileSize = (attributes?[.size] as? NSNumber)?.intValue ?? 0
            var firstByte = 0
            var columns: [String]?
            if case .csv = source {
                (columns, firstByte) = try FileRecordReader.header(of: path)
            }
            let size = fileSize - firstByte
            guard size > 0 else { throw JobError(.datasetUnavailable, "input file \(path) has no records") }
            var reader = try FileLineReader(path: path, start: firstByte, end: firstByte + sampleBytes)
            defer { reader.close() }
            var lines = 0
            var sampled = 0
            while try reader.nextLineRange() != nil {
                lines += 1
                sampled = reader.lineOffset - firstByte
            }
            let exact = sampled >= size
            let estimate = exact || sampled == 0 ? lines : Int((Double(lines) * Double(size) / Double(sampled)).rounded())
            return DatasetMeasure(size: size, estimatedItems: max(estimate, 1), isExact: exact, firstByte: firstByte, columns: columns)
        }
    }
}
