@testable import Celeriac
import Foundation
import Testing

/// Reading datasets from real files: byte ranges aligned to line starts, CSV, malformed lines.
@Suite struct DatasetTests {
    static func temporaryFile(_ contents: String, name: String = "data.jsonl") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-dataset-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func readAll(_ partition: DatasetPartition) async throws -> [DatasetRecord] {
        var reader = try FileRecordReader(partition)
        var records: [DatasetRecord] = []
        while let batch = try await reader.nextBatch() { records += batch }
        return records
    }

    static func ids(_ records: [DatasetRecord]) -> [Int] {
        records.compactMap { if case .item(let item) = $0 { item["id"]?.intValue } else { nil } }
    }

    @Test func everySplitOfAFileCoversEachLineOnce() async throws {
        let lines = (1...40).map { #"{"id": \#($0), "pad": "\#(String(repeating: "x", count: $0 % 7))"}"# }
        let text = lines.joined(separator: "\n") + "\n"
        let path = try Self.temporaryFile(text)
        let size = text.utf8.count
        for parts in [1, 2, 3, 7, 13, 40, 97] {
            var ids: [Int] = []
            for index in 0..<parts {
                let partition = DatasetPartition.jsonLines(path: path, start: size * index / parts, end: size * (index + 1) / parts)
                ids += Self.ids(try await Self.readAll(partition))
            }
            #expect(ids == Array(1...40), "\(parts) parts")
        }
    }

    @Test func malformedBlankAndCRLFLines() async throws {
        let path = try Self.temporaryFile("{\"id\": 1}\r\n\nnot json\n[1, 2]\n   \n{\"id\": 2}")  // no final newline
        let records = try await Self.readAll(.jsonLines(path: path, start: 0, end: 1 << 20))
        #expect(Self.ids(records) == [1, 2])
        let malformed = records.compactMap { if case .malformed(let reason) = $0 { reason } else { nil } }
        #expect(malformed.count == 2)
        #expect(malformed[0].contains("not valid JSON"))
        #expect(malformed[1] == "not a JSON object")
    }

    @Test func recordsShareKeyLayoutsSafely() throws {
        var layouts: [JSONKeyLayout] = []
        func parse(_ text: String) throws -> JSONValue {
            let bytes = Array(("  " + text + "  ").utf8)
            return try JSONParser.parseRecord(bytes, in: 2..<(bytes.count - 2), layouts: &layouts)
        }
        #expect(try parse(#"{"a": 1, "b": [2]}"#) == ["a": 1, "b": [2]])
        #expect(try parse(#"{"a": 3, "b": 4}"#).objectValue?.keys == ["a", "b"])
        #expect(layouts.count == 1)
        #expect(try parse(#"{"b": 1, "a": 2}"#).objectValue?.keys == ["b", "a"])  // another order, another layout
        #expect(try parse(#"{"a": 1, "a": 2}"#) == ["a": 2])  // a repeated key keeps its last value
        // Canonically equal but different bytes: different keys, as Python sees them.
        let object = try parse("{\"\u{E9}\": 1, \"e\u{301}\": 2}")
        #expect(object.objectValue?.count == 2)
        #expect(try parse("[1]") == [1])
        #expect(throws: (any Error).self) { try parse(#"{"a": 1} x"#) }
        for _ in 0..<20 { _ = try parse("{\"k\(layouts.count)\": 1, \"z\": \(Int.random(in: 0...9))}") }
        #expect(layouts.count <= JSONParser.recentLayouts)
    }

    @Test(arguments: [
        #"{"a": 1, "b": "x"}"#, #"{"a": 1, "b": tru}"#, #"{"a": 1, "b": "\q"}"#, #"{"a": 1, "b": "\u12G4"}"#,
        #"{"a": 1, "b": [1, {"c": [2, "\u00e9"]}]}"#, #"{"a": 1, "b": [1,, 2]}"#, #"{"a": 1, "b": {"c" 1}}"#,
        #"{"a": 1, "b": "open}"#, #"{"a": 1, "b": 1.5e3}"#, #"{"a": 1, "b": 1.2.3}"#, #"{"a": 1, "b": -}"#,
        #"{"a": 1, "b": NaN}"#, #"{"a": 1, "b": [}"#, #"{"b": "\"", "a": 2}"#, #"{"a": 1, "b": "x" "c": 2}"#,
    ])
    func skippedFieldsAreCheckedAsStrictlyAsParsedOnes(line: String) throws {
        var layouts: [JSONKeyLayout] = []
        let bytes = Array(line.utf8)
        let full = try? JSONParser.parse(bytes)
        let projected = try? JSONParser.parseRecord(bytes, in: bytes.indices, layouts: &layouts, keep: JSONFieldFilter(["a"]))
        #expect((full == nil) == (projected == nil), "\(line): full \(String(describing: full)), projected \(String(describing: projected))")
        if let full, let projected { #expect(projected == ["a": full["a"] ?? nil]) }
    }

    @Test func projectedReadsGiveTheSameResults() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-projection-\(UUID().uuidString).jsonl").path
        try DatasetGenerator(items: 3000, seed: 4).write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (function, parameters) in [
            ("analysis", #"{"fields": ["age", "amount"], "categories": {"rules": [{"class": "x", "when": "score > 50 && active"}]}}"#),
            ("validation", #"{"rules": {"email": {"format": "email"}}, "id_field": "name"}"#),
            ("aggregation", #"{"group_by": ["category"], "metrics": {"score": ["avg"]}}"#),
        ] {
            let processor = try JobFunctions.builtIn.make(function, parameters: try JSONValue(parsing: parameters))
            #expect(processor.fieldsRead != nil)
            var projected = try FileRecordReader(.jsonLines(path: path, start: 0, end: 1 << 30), keep: processor.fieldsRead)
            var whole = try FileRecordReader(.jsonLines(path: path, start: 0, end: 1 << 30))
            let a = try await processor.process(partition: 0, reader: &projected, output: nil, monitor: PartitionMonitor())
            let b = try await processor.process(partition: 0, reader: &whole, output: nil, monitor: PartitionMonitor())
            #expect(a.partial == b.partial, "\(function)")
            #expect(a.items == b.items && a.failedItems == b.failedItems)
        }
    }

    @Test func csvRowsWithQuotesTypesAndWrongFieldCounts() async throws {
        let text = "id,name,score,active,note\n1,Ada,90.5,true,\"a, quoted \"\"note\"\"\"\n2,Alan,,false,x\n3,too,few\n4,Grace,7,true,y\n"
        let path = try Self.temporaryFile(text, name: "data.csv")
        let measure = try JobPlanner.measureFile(.csv(path: path))
        #expect(measure.columns == ["id", "name", "score", "active", "note"])
        #expect(measure.isExact && measure.estimatedItems == 4)
        let partitions = JobPlanner.partitions(of: .csv(path: path), measure: measure, partitionSize: 1)
        var records: [DatasetRecord] = []
        for partition in partitions { records += try await Self.readAll(partition) }
        #expect(records.count == 4)
        guard case .item(let first) = records[0], case .item(let second) = records[1], case .malformed(let reason) = records[2] else {
            Issue.record("unexpected records \(records)")
            return
        }
        #expect(first == ["id": 1, "name": "Ada", "score": 90.5, "active": true, "note": "a, quoted \"note\""])
        #expect(second["score"] == nil)  // an empty field is missing
        #expect(reason.contains("3 fields"))
        #expect(Self.ids(records) == [1, 2, 4])
    }

    @Test func aPythonBuiltCSVPartitionFromByteZeroSkipsTheHeader() async throws {
        let path = try Self.temporaryFile("id,v\n1,a\n2,b\n", name: "d.csv")
        let records = try await Self.readAll(.csv(path: path, start: 0, end: 100, columns: nil))
        #expect(Self.ids(records) == [1, 2])
    }

    @Test func missingFileIsAClearError() async throws {
        #expect(throws: JobError.self) { try JobPlanner.measureFile(.jsonLines(path: "/nonexistent/x.jsonl")) }
        #expect(throws: JobError.self) { try FileRecordReader(.jsonLines(path: "/nonexistent/x.jsonl", start: 0, end: 10)) }
    }

    @Test func plannerSplitsAndSizesAutomatically() throws {
        #expect(JobPlanner.automaticPartitionSize(items: 1_000_000, slots: 2) == 125_000)
        #expect(JobPlanner.automaticPartitionSize(items: 1_000, slots: 8) == 1_000)
        #expect(JobPlanner.automaticPartitionSize(items: 100_000_000, slots: 1) == 250_000)
        #expect(JobPlanner.automaticPartitionSize(items: 10, slots: -5) == 1_000)
        let list = JobPlanner.partitions(
            of: .redisList(key: "k"), measure: DatasetMeasure(size: 10, estimatedItems: 10, isExact: true), partitionSize: 3)
        #expect(list == [
            .redisList(key: "k", start: 0, stop: 1), .redisList(key: "k", start: 2, stop: 4),
            .redisList(key: "k", start: 5, stop: 6), .redisList(key: "k", start: 7, stop: 9),
        ])
        let many = JobPlanner.partitions(
            of: .jsonLines(path: "p"), measure: DatasetMeasure(size: 1 << 30, estimatedItems: 100_000_000, isExact: false),
            partitionSize: 1)
        #expect(many.count == JobPlanner.maximumPartitions)
        // Sized from the estimate (as `.slots(2)` and `.automatic` do): 8 even partitions for 2
        // slots; sized from the exact count while the estimate runs over, one more (5 + 4).
        let estimate = DatasetMeasure(size: 220_000_000, estimatedItems: 1_003_000, isExact: false)
        let fromEstimate = JobPlanner.automaticPartitionSize(items: estimate.estimatedItems, slots: 2)
        #expect(JobPlanner.partitions(of: .jsonLines(path: "p"), measure: estimate, partitionSize: fromEstimate).count == 8)
        let fromCount = JobPlanner.automaticPartitionSize(items: 1_000_000, slots: 2)
        #expect(JobPlanner.partitions(of: .jsonLines(path: "p"), measure: estimate, partitionSize: fromCount).count == 9)
    }

    @Test func descriptorsRoundTripAndRefuseHostileRanges() throws {
        let partition = DatasetPartition.csv(path: "/d.csv", start: 5, end: 9, columns: ["a"])
        #expect(try DatasetPartition(json: partition.json) == partition)
        for hostile: JSONValue in [
            ["format": "jsonl", "path": "/x", "start": -1, "end": 5],
            ["format": "jsonl", "path": "/x", "start": 9, "end": 5],
            ["format": "jsonl", "path": "/x", "start": 0, "end": .integer(Int.max)],
            ["format": "redis_list", "key": "k", "start": 0, "stop": 1e300],
            ["format": "parquet", "path": "/x"],
        ] {
            #expect(throws: JobError.self) { try DatasetPartition(json: hostile) }
        }
    }

    @Test func generatorIsDeterministicAndRealistic() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-gen-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let first = directory + "/a.jsonl"
        let second = directory + "/b.jsonl"
        try DatasetGenerator(items: 2000, seed: 3).write(to: first)
        try DatasetGenerator(items: 2000, seed: 3).write(to: second)
        #expect(FileManager.default.contents(atPath: first) == FileManager.default.contents(atPath: second))
        let result = try await LocalJobRunner.run(
            function: "validation", parameters: ["rules": ["email": ["required": true, "format": "email"], "age": ["type": "integer"]]],
            dataset: .jsonLines(path: first))
        #expect(result["items"] == 2000)
        let invalid = result["invalid"]?.intValue ?? 0
        #expect(invalid > 60 && invalid < 300, "about 5% bad emails, 1% missing, 1% wrong age types: \(invalid)")
        try DatasetGenerator(items: 500, seed: 3, format: .csv).write(to: directory + "/c.csv")
        let csv = try await LocalJobRunner.run(function: "analysis", parameters: ["fields": ["age"]], dataset: .csv(path: directory + "/c.csv"))
        #expect(csv["items"] == 500)
        #expect(csv["failed_items"] == 0)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
