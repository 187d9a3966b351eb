@testable import Celeriac
import Foundation
import Testing

/// The map loop's fast path: ``JSONRecordScanner`` must never accept a record the parser refuses,
/// nor read a value other than the parser's; and the functions' view paths must fold records as
/// their object paths do.
@Suite struct RecordScannerTests {
    /// Whether the scanner accepts `line`; when it does, that the parser accepts it too and that
    /// every field reads as the parser's value.
    @discardableResult
    static func agree(_ line: [UInt8], fields: [String] = ["a", "b"], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        var scanner = JSONRecordScanner(fields: fields)
        guard scanner.scan(line, line.indices) else { return false }
        var layouts: [JSONKeyLayout] = []
        let text = String(decoding: line, as: UTF8.self)
        guard case .object(let parsed)? = try? JSONParser.parseRecord(line, in: line.indices, layouts: &layouts, keep: JSONFieldFilter(Set(fields))) else {
            Issue.record("the scanner accepted what the parser refuses: \(text)", sourceLocation: sourceLocation)
            return true
        }
        for (slot, field) in fields.enumerated() {
            let scanned = scanner.view.value(slot)
            let expected = parsed[field]
            #expect(scanned == expected, "\(field) of \(text)", sourceLocation: sourceLocation)
            // -0.0 == 0.0: compare the bits too.
            if case .double(let a)? = scanned, case .double(let b)? = expected {
                #expect(a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN), "\(field) of \(text)", sourceLocation: sourceLocation)
            }
            #expect(scanner.view.number(slot) == (expected.flatMap { $0.isNumber ? $0.doubleValue : nil }), sourceLocation: sourceLocation)
        }
        return true
    }

    @Test(arguments: [
        #"{"a": 1, "b": "x"}"#, #"{"b": "x", "a": -12}"#, #"{}"#, #" { "a" : null , "b":true} "#, #"{"a": false}"#,
        #"{"a": 0.5, "b": -0.0}"#, #"{"a": 1.5e3, "b": 2E-2}"#, #"{"a": 12345678901234567, "b": 0}"#,
        #"{"c": [1, {"d": [2, "\u00e9"]}], "a": 1}"#, #"{"a": "caf\u00e9", "b": "\"q\""}"#, "{\"a\": \"caf\u{E9}\"}",
        #"{"a": {"x": [1, 2]}, "b": [null]}"#, #"{"a": 1, "a": 2}"#, #"{"z": "\ud83d\ude00", "a": 3}"#,
        #"{"a": 99999999999999999999, "b": 1.7976931348623157e308}"#, #"{"a": 123456789.123456789, "b": 5e-324}"#,
        #"{"a": 1e400, "b": -1e-400}"#, #"{"a": 9223372036854775807, "b": -9223372036854775808}"#,
    ])
    func acceptsCommonRecordsWithTheParsersValues(line: String) {
        #expect(Self.agree(Array(line.utf8)), "\(line) should take the fast path")
    }

    @Test(arguments: [
        #"{"a": 1, "b": tru}"#, #"{"a": 1, "b": "\q"}"#, #"{"a": 1, "b": "\u12G4"}"#, #"{"a": 1, "b": [1,, 2]}"#,
        #"{"a": 1, "b": {"c" 1}}"#, #"{"a": 1, "b": "open}"#, #"{"a": 1, "b": 1.2.3}"#, #"{"a": 1, "b": -}"#,
        #"{"a": 1, "b": [}"#, #"{"a": 1, "b": "x" "c": 2}"#, #"{"a": 01}"#, #"{"a": 1.}"#, #"{"a": .5}"#,
        #"{"a": +1}"#, #"{"a": 1e}"#, #"{"a": NaN}"#, #"{"a": Infinity}"#, #"{"a": -Infinity}"#, #"[1, 2]"#, #""a""#,
        #"{"a": 1} x"#, #"{"a": 1,}"#, #"{"\u0061": 1}"#, #"{"a": "\ud800"}"#, #"{"c": {"\u0061": 1}}"#, #"{"a" 1}"#,
        #"{"a": 1"#, #"{"#, "", "   ", "{\"a\": " + String(repeating: "[", count: 70) + "1" + String(repeating: "]", count: 70) + "}",
    ])
    func leavesTheRestToTheParser(line: String) {
        #expect(!Self.agree(Array(line.utf8)), "\(line) should go to the parser")
    }

    @Test func invalidUTF8InAReadStringGoesToTheParser() {
        #expect(!Self.agree(Array(#"{"a": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)))
        // In a field the function does not read, the parser does not check it either.
        #expect(Self.agree(Array(#"{"z": ""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)))
    }

    /// Numbers written in many ways read as the parser's (exactly, bit for bit).
    @Test func numbersReadAsTheParsersBitForBit() {
        var random = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            let texts = [
                "\(value)", String(format: "%.3f", value), String(format: "%.17g", value), String(format: "%e", value),
                "\(Int64(bitPattern: random.next()) >> (random.next() % 63))", String(format: "%.2f", Double(random.below(1_000_000)) / 100),
            ]
            for text in texts where !text.contains("inf") && !text.contains("nan") {
                Self.agree(Array("{\"a\": \(text)}".utf8), fields: ["a"])
            }
        }
    }

    /// Generated records, then the same records with bytes flipped, dropped and repeated: the
    /// scanner accepts nothing the parser refuses and reads nothing differently.
    @Test func mutatedRecordsNeverDisagree() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-scanner-\(UUID().uuidString).jsonl").path
        try DatasetGenerator(items: 2000, seed: 9).write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { Array($0.utf8) }
        let fields = ["id", "email", "age", "score", "name", "category", "active"]
        var accepted = 0
        for line in lines where Self.agree(line, fields: fields) { accepted += 1 }
        #expect(accepted == lines.count, "every generated record takes the fast path")
        var random = SplitMix64(seed: 11)
        let alphabet = Array(#"{}[]":,\-+.0123456789eEtruefalsn u"#.utf8) + [0x80, 0xC3, 0xFF, 0x00, 0x09]
        for _ in 0..<30_000 {
            var line = lines[random.below(lines.count)]
            for _ in 0...random.below(3) {
                let at = random.below(line.count)
                switch random.below(3) {
                case 0: line[at] = alphabet[random.below(alphabet.count)]
                case 1: line.remove(at: at)
                default: line.insert(alphabet[random.below(alphabet.count)], at: at)
                }
            }
            Self.agree(line, fields: fields)
        }
    }

    /// Every generated record, read through the view path and through objects: the same partials.
    @Test(arguments: [
        ("validation", #"{"rules": {"email": {"required": true, "format": "email"}, "age": {"type": "integer", "min": 18, "max": 120}, "name": {"required": true, "min_length": 1, "max_length": 80}, "category": {"one_of": ["books", "toys", 3]}, "score": {"type": "number", "min": 10}, "active": {"type": "boolean"}, "missing": {"required": true}}, "samples": 50}"#),
        ("validation", #"{"rules": {"email": {"regex": "^[a-z.]+[0-9]+@", "type": "string"}, "id": {"one_of": [1, 2, 3]}}, "id_field": "email"}"#),
        ("analysis", #"{"fields": ["age", "score", "amount", "name", "age"]}"#),
        ("analysis", #"{"fields": ["amount"], "categories": {"rules": [{"class": "big", "when": "amount > 500 && active"}, {"class": "named", "when": "name + '' == 'Ren\u00e9e' || missing.x == null && score > 90"}], "default": "other"}}"#),
        ("classification", #"{"rules": [{"class": "big", "when": "amount > 500 && active"}, {"class": "named", "when": "name + '' == 'Ren\u00e9e' || missing.x == null && score > 90"}], "default": "other"}"#),
        ("aggregation", #"{"group_by": ["category", "active"], "metrics": {"amount": ["sum", "avg"], "age": ["min", "max"], "category": ["count"]}}"#),
    ])
    func viewPathsFoldAsObjectPaths(function: String, parameters: String) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-view-\(UUID().uuidString).jsonl").path
        try DatasetGenerator(items: 3000, seed: 5).write(to: path)
        // Records the scanner leaves to the parser, mixed in: escapes, non-ASCII, malformed.
        let odd = [
            #"{"id": 9001, "email": "\u00e9@example.com", "age": 30, "name": "Ren\u00e9e", "category": "toys"}"#,
            "{\"id\": 9002, \"email\": \"jos\u{E9}@example.com\", \"age\": 1e1, \"name\": \"\u{E9}\", \"score\": 01}",
            #"{"id": 9003, "age": NaN, "score": Infinity, "category": "books"}"#, #"{"id": 9004, "age": "#, "[1, 2]",
            #"{"id": 9005, "age": 40.0, "score": 12.5, "name": "", "category": 3, "active": null}"#,
        ]
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data((odd.joined(separator: "\n") + "\n").utf8))
        try handle.close()
        defer { try? FileManager.default.removeItem(atPath: path) }

        let processor = try JobFunctions.builtIn.make(function, parameters: try JSONValue(parsing: parameters))
        #expect(processor.readsRecordViews)
        var texts = try FileRecordReader(.jsonLines(path: path, start: 0, end: 1 << 30), keep: processor.fieldsRead)
        let viaViews = try await processor.process(partition: 0, reader: &texts, output: nil, monitor: PartitionMonitor())
        var records: [DatasetRecord] = []
        var objects = try FileRecordReader(.jsonLines(path: path, start: 0, end: 1 << 30), keep: processor.fieldsRead)
        while let batch = try await objects.nextBatch() { records += batch }
        var reader = RecordsReader(records: records)
        let viaObjects = try await processor.process(partition: 0, reader: &reader, output: nil, monitor: PartitionMonitor())
        #expect(viaViews.items == 3006 && viaViews.items == viaObjects.items)
        #expect(viaViews.failedItems >= 2 && viaViews.failedItems == viaObjects.failedItems)
        #expect(viaViews.errors.map(\.error) == viaObjects.errors.map(\.error))
        #expect(viaViews.partial == viaObjects.partial)
        if let classes = viaViews.partial["categories"]?.objectValue ?? (function == "classification" ? viaViews.partial.objectValue : nil) {
            #expect(classes.values.filter { ($0.intValue ?? 0) > 0 }.count == 3, "every class is seen: \(classes)")
        }
        if function == "aggregation" { #expect((viaViews.partial.objectValue?.count ?? 0) > 6, "several groups") }
    }

    @Test func functionsThatWriteItemsReadObjects() throws {
        let transformation = try JobFunctions.builtIn.make("transformation", parameters: ["drop": ["email"]])
        #expect(!transformation.readsRecordViews)
    }
}
