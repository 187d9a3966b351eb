import Foundation
import RESP

/// Where one map task reads: the `dataset` argument of `celeriac.jobs.map`.
///
/// - `{"format": "jsonl", "path": "/data/x.jsonl", "start": 0, "end": 1048576}`: the lines that
///   begin in the byte range `[start, end)` (any split works: see ``FileLineReader``);
/// - `{"format": "csv", "path": ..., "start": ..., "end": ..., "columns": ["id", ...]}`: the
///   same for CSV rows; the header line is the file's first, read when `columns` is absent;
/// - `{"format": "redis_list", "key": "items", "start": 0, "stop": 9999}`: the list's elements
///   `start...stop` (inclusive, as `LRANGE`), each a JSON object, in the broker's database.
public enum DatasetPartition: Sendable, Hashable {
    case jsonLines(path: String, start: Int, end: Int)
    case csv(path: String, start: Int, end: Int, columns: [String]?)
    case redisList(key: String, start: Int, stop: Int)

    /// Offsets and indexes past this are refused as hostile (a petabyte, a quadrillion items).
    static let maximumOffset = 1 << 50

    /// The descriptor as JSON.
    public var json: JSONValue {
        switch self {
        case .jsonLines(let path, let start, let end):
            ["format": "jsonl", "path": .string(path), "start": .integer(start), "end": .integer(end)]
        case .csv(let path, let start, let end, let columns):
            [
                "format": "csv", "path": .string(path), "start": .integer(start), "end": .integer(end),
                "columns": columns.map { .array($0.map(JSONValue.string)) } ?? .null,
            ]
        case .redisList(let key, let start, let stop):
            ["format": "redis_list", "key": .string(key), "start": .integer(start), "stop": .integer(stop)]
        }
    }

    /// Reads a descriptor.
    /// - Throws: ``JobError`` `invalidSpec` naming what is missing or out of range.
    public init(json: JSONValue) throws {
        func integer(_ key: String) throws -> Int {
            guard let value = json[key]?.intValue, value >= 0, value <= Self.maximumOffset else {
                throw JobError(.invalidSpec, "dataset.\(key) must be an integer between 0 and 2^50")
            }
            return value
        }
        switch json["format"]?.stringValue {
        case "jsonl"?, "csv"?:
            guard let path = json["path"]?.stringValue, !path.isEmpty else {
                throw JobError(.invalidSpec, "dataset.path is required")
            }
            let start = try integer("start")
            let end = try integer("end")
            guard start <= end else { throw JobError(.invalidSpec, "dataset.start (\(start)) is after dataset.end (\(end))") }
            if json["format"]?.stringValue == "jsonl" {
                self = .jsonLines(path: path, start: start, end: end)
            } else {
                let columns = try json["columns"]?.arrayValue.map { array in
                    try array.map { value in
                        guard let name = value.stringValue else { throw JobError(.invalidSpec, "dataset.columns must be strings") }
                        return name
                    }
                }
                self = .csv(path: path, start: start, end: end, columns: columns)
            }
        case "redis_list"?:
            guard let key = json["key"]?.stringValue, !key.isEmpty else { throw JobError(.invalidSpec, "dataset.key is required") }
            let start = try integer("start")
            let stop = try integer("stop")
            guard start <= stop else { throw JobError(.invalidSpec, "dataset.start (\(start)) is after dataset.stop (\(stop))") }
            self = .redisList(key: key, start: start, stop: stop)
        case let other:
            throw JobError(.invalidSpec, "dataset.format must be jsonl, csv or redis_list, got \(other ?? "nothing")")
        }
    }
}

/// JSON Lines or CSV rows of a byte range, as records.
struct FileRecordReader: PartitionReader {
    private var lines: FileLineReader
    private let columns: [String]?
    private let layout: JSONKeyLayout?
    /// The key layouts of recent JSON records (shared by the objects parsed with them).
    private var recentLayouts: [JSONKeyLayout] = []
    static let batchSize = 512

    /// The fields to build (`nil`: all); see ``JobFunction/fieldsRead``.
    private let keep: Set<String>?
    private let filter: JSONFieldFilter?

    /// - Throws: ``JobError`` `datasetUnavailable` (missing file, unreadable CSV header).
    init(_ partition: DatasetPartition, keep: Set<String>? = nil) throws {
        self.keep = keep
        self.filter = keep.map(JSONFieldFilter.init)
        switch partition {
        case .jsonLines(let path, let start, let end):
            lines = try FileLineReader(path: path, start: start, end: end)
            columns = nil
        case .csv(let path, let start, let end, let given):
            let header = try given ?? Self.header(of: path).columns
            lines = try FileLineReader(path: path, start: start, end: end)
            if start == 0 { _ = try lines.nextLine() }
            columns = header
        case .redisList:
            preconditionFailure("a Redis list is read by RedisListReader")
        }
        layout = columns.flatMap { Set($0).count == $0.count ? JSONKeyLayout($0) : nil }
    }

    /// The column names of a CSV file's first line, and the offset where the records begin.
    /// - Throws: ``JobError`` `datasetUnavailable` when the file or its header cannot be read.
    static func header(of path: String) throws -> (columns: [String], firstRecord: Int) {
        var reader = try FileLineReader(path: path, start: 0, end: 1)
        defer { reader.close() }
        guard let line = try reader.nextLine(), !line.tooLong, let columns = CSVLine.fields(line.bytes),
            !columns.isEmpty, columns != [""]
        else {
            throw JobError(.datasetUnavailable, "\(path) has no CSV header line")
        }
        return (columns.map { $0.trimmingCharacters(in: .whitespaces) }, reader.lineOffset)
    }

    mutating func nextBatch() async throws -> [DatasetRecord]? {
        var batch: [DatasetRecord] = []
        batch.reserveCapacity(Self.batchSize)
        while batch.count < Self.batchSize, let (range, tooLong) = try lines.nextLineRange() {
            let bytes = lines.buffer
            if tooLong {
                batch.append(.malformed("line longer than \(FileLineReader.maximumLineLength) bytes"))
            } else if bytes[range].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                continue  // blank lines are not records
            } else if let columns {
                batch.append(record(csv: bytes[range], columns: columns))
            } else {
                batch.append(Self.record(json: bytes, range, layouts: &recentLayouts, keep: filter))
            }
        }
        if batch.isEmpty {
            lines.close()
            return nil
        }
        return batch
    }

    mutating func nextTexts(_ body: (RecordText) throws -> Void) async throws -> Bool? {
        guard columns == nil else { return nil }
        var handed = 0
        while handed < Self.batchSize, let (range, tooLong) = try lines.nextLineRange() {
            let bytes = lines.buffer
            if tooLong {
                try body(.malformed("line longer than \(FileLineReader.maximumLineLength) bytes"))
            } else if bytes[range].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                continue  // blank lines are not records
            } else {
                try body(.json(bytes: bytes, range: range))
            }
            handed += 1
        }
        if handed == 0 { lines.close() }
        return handed > 0
    }

    func estimatedTotal(afterReading records: Int) -> Int {
        let read = lines.lineOffset - lines.start
        let size = lines.end - lines.start
        guard read > 0, records > 0 else { return records }
        return Int((Double(records) * Double(size) / Double(read)).rounded())
    }

    /// The record of the JSON text `bytes[range]`.
    static func record(
        json bytes: [UInt8], _ range: Range<Int>, layouts: inout [JSONKeyLayout], keep: JSONFieldFilter? = nil
    ) -> DatasetRecord {
        do {
            guard case .object(let object) = try JSONParser.parseRecord(bytes, in: range, layouts: &layouts, keep: keep) else {
                return .malformed("not a JSON object")
            }
            return .item(object)
        } catch {
            return .malformed("not valid JSON: \(error)")
        }
    }

    private func record(csv line: ArraySlice<UInt8>, columns: [String]) -> DatasetRecord {
        guard let fields = CSVLine.fields(line) else { return .malformed("unterminated quote in CSV row") }
        guard fields.count == columns.count else {
            return .malformed("CSV row has \(fields.count) fields, the header \(columns.count)")
        }
        let values = zip(columns, fields).map { column, field in keep.map { $0.contains(column) } ?? true ? CSVLine.value(field) : nil }
        if let layout, !values.contains(where: { $0 == nil }) {
            return .item(JSONObject(layout: layout, values: values.map { $0 ?? .null }))
        }
        var object = JSONObject()
        for (name, value) in zip(columns, values) { if let value { object[name] = value } }
        return .item(object)
    }
}

/// Elements `start...stop` of a Redis list, fetched 1,000 at a time.
struct RedisListReader: PartitionReader {
    let pool: RedisConnectionPool
    let key: String
    private var next: Int
    let stop: Int
    let start: Int
    private var recentLayouts: [JSONKeyLayout] = []
    static let batchSize = 1000

    private let keep: JSONFieldFilter?

    init(pool: RedisConnectionPool, key: String, start: Int, stop: Int, keep: Set<String>? = nil) {
        self.keep = keep.map(JSONFieldFilter.init)
        self.pool = pool
        self.key = key
        self.start = start
        self.next = start
        self.stop = stop
    }

    mutating func nextBatch() async throws -> [DatasetRecord]? {
        guard let elements = try await nextElements() else { return nil }
        return elements.map { FileRecordReader.record(json: $0, $0.indices, layouts: &recentLayouts, keep: keep) }
    }

    /// The next elements of the range, `nil` after the last.
    private mutating func nextElements() async throws -> [[UInt8]]? {
        guard next <= stop else { return nil }
        let first = next
        let last = min(first + Self.batchSize - 1, stop)
        let elements: [[UInt8]]
        do {
            elements = try await pool.lrange(key, from: first, to: last)
        } catch {
            throw JobError(.datasetUnavailable, "cannot read Redis list \(key): \(error)")
        }
        // A short read means the list ended early (it shrank since the job was planned).
        next = elements.count < last - first + 1 ? stop + 1 : last + 1
        return elements.isEmpty ? nil : elements
    }

    mutating func nextTexts(_ body: (RecordText) throws -> Void) async throws -> Bool? {
        guard let elements = try await nextElements() else { return false }
        for element in elements { try body(.json(bytes: element, range: element.indices)) }
        return true
    }

    func estimatedTotal(afterReading records: Int) -> Int { stop - start + 1 }
}
