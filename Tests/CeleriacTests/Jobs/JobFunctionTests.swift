@testable import Celeriac
import Foundation
import Testing

/// Records given in memory, for the pure tests of functions and their merge (files and Redis
/// lists are read for real in the dataset and integration tests).
struct RecordsReader: PartitionReader {
    var records: [DatasetRecord]
    var delivered = false
    mutating func nextBatch() async throws -> [DatasetRecord]? {
        guard !delivered else { return nil }
        delivered = true
        return records
    }
    func estimatedTotal(afterReading records: Int) -> Int { self.records.count }
}

/// The same records as JSON texts (`nil`: a malformed line), read as JSON Lines are: through the
/// map loop's record-view path where the function has one.
struct TextsReader: PartitionReader {
    var lines: [[UInt8]]
    var delivered = false
    mutating func nextBatch() async throws -> [DatasetRecord]? {
        guard !delivered else { return nil }
        delivered = true
        var layouts: [JSONKeyLayout] = []
        return lines.map { FileRecordReader.record(json: $0, $0.indices, layouts: &layouts) }
    }
    mutating func nextTexts(_ body: (RecordText) throws -> Void) async throws -> Bool? {
        guard !delivered else { return false }
        delivered = true
        for line in lines { try body(.json(bytes: line, range: line.indices)) }
        return true
    }
    func estimatedTotal(afterReading records: Int) -> Int { lines.count }
}

/// Runs `function` over `items`, split into `parts` partitions, through the same map loop and
/// reduce as a job; each partition also goes through the JSON-text path, which must agree.
func reduce(_ function: String, _ parameters: JSONValue, _ items: [JSONObject?], parts: Int = 1) async throws -> JSONObject {
    let processor = try JobFunctions.builtIn.make(function, parameters: parameters)
    let size = max((items.count + parts - 1) / parts, 1)
    var summaries: [PartitionSummary] = []
    for (index, start) in stride(from: 0, to: max(items.count, 1), by: size).enumerated() {
        let slice = items[start..<min(start + size, items.count)]
        var reader = RecordsReader(records: slice.map { $0.map(DatasetRecord.item) ?? .malformed("not valid JSON") })
        let summary = try await processor.process(partition: index, reader: &reader, output: nil, monitor: PartitionMonitor())
        var texts = TextsReader(lines: slice.map { $0.map { JSONValue.object($0).serialized() } ?? Array("{not json".utf8) })
        let viaTexts = try await processor.process(partition: index, reader: &texts, output: nil, monitor: PartitionMonitor())
        #expect(viaTexts.partial == summary.partial && viaTexts.items == summary.items && viaTexts.failedItems == summary.failedItems,
            "\(function): the JSON-text path folds the records differently")
        // Through JSON, as the partial travels from map task to reduce task.
        summaries.append(PartitionSummary(json: try JSONValue(parsing: summary.json.serializedString), partition: index))
    }
    return processor.reduce(summaries).resultObject(partitions: summaries.count)
}

@Suite struct JobFunctionTests {
    static let people: [JSONObject?] = [
        ["id": 1, "email": "ada@example.com", "age": 36, "score": 90.5, "amount": 10, "category": "a"],
        ["id": 2, "email": "alan@", "age": 41, "score": 70, "amount": 30, "category": "b"],
        ["id": 3, "email": "grace@example.org", "age": "forty", "score": 85, "amount": 20, "category": "a"],
        ["id": 4, "age": 17, "score": "n/a", "amount": 40, "category": "c"],
        nil,  // a malformed line
        ["id": 5, "email": "linus@example.net", "age": 60, "score": 50, "amount": 100, "category": "b"],
    ]

    @Test func validationCountsRulesFieldsAndSamples() async throws {
        let parameters: JSONValue = [
            "rules": [
                "email": ["required": true, "format": "email"],
                "age": ["type": "integer", "min": 18, "max": 120],
                "category": ["one_of": ["a", "b"]],
            ],
        ]
        let result = try await reduce("validation", parameters, Self.people)
        #expect(result["items"] == 6)
        #expect(result["failed_items"] == 1)
        #expect(result["valid"] == 2)  // ids 1 and 5
        #expect(result["invalid"] == 3)  // 2 (email), 3 (age type), 4 (email missing, age min, category)
        #expect(result["by_rule"] == ["email.format": 1, "email.required": 1, "age.type": 1, "age.min": 1, "category.one_of": 1])
        #expect(result["by_field"] == ["email": 2, "age": 2, "category": 1])
        #expect(result["sample_invalid_ids"] == [2, 3, 4])
    }

    @Test func validationRegexAndLengths() async throws {
        let parameters: JSONValue = ["rules": ["code": ["regex": "^[A-Z]{3}$", "min_length": 3, "max_length": 3]]]
        let items: [JSONObject?] = [["code": "ABC"], ["code": "abc"], ["code": "ABCD"], ["code": 7], [:]]
        let result = try await reduce("validation", parameters, items)
        #expect(result["valid"] == 2)  // ABC, and the missing (not required) one
        #expect(result["by_rule"] == ["code.regex": 1, "code.max_length": 1, "code.type": 1])
    }

    @Test func analysisMatchesHandComputedStatistics() async throws {
        let result = try await reduce("analysis", ["fields": ["amount", "score", "nothing"]], Self.people)
        #expect(result["items"] == 6)
        #expect(result["failed_items"] == 1)
        let amount = try #require(result["fields"]?["amount"])
        #expect(amount["count"] == 5)
        #expect(amount["mean"]?.doubleValue == 40)
        #expect(amount["min"]?.doubleValue == 10)
        #expect(amount["max"]?.doubleValue == 100)
        // Population deviation of 10, 30, 20, 40, 100: sqrt(1000) = 31.6227...
        #expect(abs((amount["stddev"]?.doubleValue ?? 0) - 1000.0.squareRoot()) < 1e-9)
        #expect(abs((amount["p50"]?.doubleValue ?? 0) - 30) <= 0.3)
        // The sketch's quantile is the value at rank q·(n−1), rounded down: p99 of five values is the 4th.
        #expect(abs((amount["p99"]?.doubleValue ?? 0) - 40) <= 0.4)
        // "n/a" is not a number: not counted.
        #expect(result["fields"]?["score"]?["count"] == 4)
        #expect(result["fields"]?["nothing"]?["count"] == 0)
        #expect(result["fields"]?["nothing"]?["mean"] == .null)
        #expect(result["fields"]?.objectValue?.keys == ["amount", "score", "nothing"])
    }

    @Test func analysisCountsAnomaliesAgainstTheWholeDataset() async throws {
        // 99 values of 10 and one of 1000: mean 19.9, population sd 98.5; only 1000 is past 3 sd.
        let items: [JSONObject?] = (0..<99).map { _ in ["x": 10] } + [["x": 1000]]
        for parts in [1, 4, 10] {
            let result = try await reduce("analysis", ["fields": ["x"], "zscore": 3], items, parts: parts)
            #expect(result["fields"]?["x"]?["anomalies"] == 1, "parts \(parts)")
        }
    }

    @Test func analysisCategoriesByRules() async throws {
        let parameters: JSONValue = [
            "fields": ["amount"],
            "categories": ["rules": [["class": "big", "when": "amount >= 40"], ["class": "a", "when": "category == 'a'"]], "default": "rest"],
        ]
        let result = try await reduce("analysis", parameters, Self.people)
        #expect(result["categories"] == ["big": 2, "a": 2, "rest": 1])
    }

    @Test func aggregationGroupsAndSummarises() async throws {
        let parameters: JSONValue = ["group_by": ["category"], "metrics": ["amount": ["sum", "count", "avg", "min", "max"]]]
        let result = try await reduce("aggregation", parameters, Self.people, parts: 3)
        let groups = try #require(result["groups"]?.arrayValue)
        #expect(groups.count == 3)
        #expect(groups[0]["key"] == ["category": "a"])
        #expect(groups[0]["amount"] == ["sum": 30.0, "count": 2, "avg": 15.0, "min": 10.0, "max": 20.0])
        #expect(groups[1]["key"] == ["category": "b"])
        #expect(groups[1]["amount"] == ["sum": 130.0, "count": 2, "avg": 65.0, "min": 30.0, "max": 100.0])
        #expect(groups[2]["items"] == 1)
    }

    @Test func aggregationBoundsItsGroups() async throws {
        let items: [JSONObject?] = (0..<10).map { ["k": .integer($0), "v": 1] }
        let result = try await reduce("aggregation", ["group_by": ["k"], "metrics": ["v": ["sum"]], "max_groups": 4], items)
        #expect(result["groups"]?.arrayValue?.count == 4)
        #expect(result["failed_items"] == 6)
    }

    @Test func classificationFirstMatchWins() async throws {
        let parameters: JSONValue = [
            "rules": [["class": "vip", "when": "amount >= 40 && score >= 50"], ["class": "young", "when": "age < 40"]],
            "default": "other",
        ]
        let result = try await reduce("classification", parameters, Self.people)
        // id 5 is vip; id 1 is young; id 4's score is text, so "vip" cannot match it, but age 17 is young.
        #expect(result["classes"] == ["vip": 1, "young": 2, "other": 2])
    }

    @Test func transformationRewritesItemsAndCountsFailures() throws {
        let function = try TransformationFunction(parameters: JobParameters([
            "rename": ["email": "mail"], "drop": ["category"], "normalize": ["name": ["trim", "lower", "collapse_spaces"]],
            "convert": ["age": "integer", "active": "boolean"], "compute": ["total": "amount * 2 + 1", "label": "name + ':' + age"],
        ]))
        var partial = function.makePartial()
        let item: JSONObject = ["name": "  Ada   LOVELACE ", "email": "a@b.c", "age": "36", "active": "yes", "amount": 5, "category": "a"]
        let out = try #require(try function.map(item, into: &partial))
        #expect(out == ["name": "ada lovelace", "mail": "a@b.c", "age": 36, "active": true, "amount": 5, "total": 11, "label": "ada lovelace:36"])
        #expect(out.keys.contains("category") == false)
        let bad = try #require(try function.map(["age": "forty", "amount": "x"], into: &partial))
        #expect(bad["age"] == .null)
        #expect(bad["total"] == .null)
        #expect(partial.conversionsFailed == ["age": 1])
        #expect(partial.computationsFailed == ["total": 1, "label": 1])
        #expect(partial.written == 2)
    }

    @Test func enrichmentLooksUpAndDerives() throws {
        let function = try EnrichmentFunction(parameters: JobParameters([
            "lookups": [["field": "category", "table": ["a": ["category_name": "Alpha"]], "prefix": "c_"]],
            "derive": ["email_domain": "email", "age_band": "age"],
        ]))
        var partial = function.makePartial()
        let out = try #require(try function.map(["category": "a", "email": "Ada@Example.COM", "age": 36], into: &partial))
        #expect(out["c_category_name"] == "Alpha")
        #expect(out["email_domain"] == "example.com")
        #expect(out["age_band"] == "30-44")
        _ = try function.map(["category": "z", "email": "bad", "age": "x"], into: &partial)
        #expect(partial.lookups["category"] == .init(hits: 1, misses: 1))
        #expect(partial.derived["email_domain"] == .init(hits: 1, misses: 1))
        #expect(partial.derived["age_band"] == .init(hits: 1, misses: 1))
    }

    @Test(arguments: [
        ("analysis", #"{"fields": []}"#, "fields"),
        ("analysis", #"{"fields": ["a", 3]}"#, "fields[1]"),
        ("analysis", #"{"fields": ["a"], "zscore": "high"}"#, "zscore"),
        ("analysis", #"{"fields": ["a"], "typo": 1}"#, "typo"),
        ("validation", #"{"rules": {"age": {"type": "int"}}}"#, "rules.age.type"),
        ("validation", #"{"rules": {"age": {"min": 5, "max": 1}}}"#, "rules.age.min"),
        ("validation", #"{"rules": {"code": {"regex": "("}}}"#, "rules.code.regex"),
        ("aggregation", #"{"group_by": ["c"], "metrics": {"amount": ["median"]}}"#, "metrics.amount[0]"),
        ("classification", #"{"rules": [{"class": "x", "when": "a >"}]}"#, "rules[0].when"),
        ("transformation", #"{"convert": {"age": "date"}}"#, "convert.age"),
        ("enrichment", #"{"derive": {"zodiac": "birthday"}}"#, "derive.zodiac"),
    ])
    func invalidParametersNameTheField(function: String, parameters: String, field: String) throws {
        let parameters = try JSONValue(parsing: parameters)
        do {
            try JobFunctions.builtIn.validate(function, parameters: parameters)
            Issue.record("accepted \(parameters)")
        } catch let error as JobError {
            #expect(error.code == .invalidParameters)
            #expect(error.field == field, "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func unknownFunctionListsTheKnownOnes() {
        #expect {
            try JobFunctions.builtIn.validate("sentiment", parameters: [:])
        } throws: { error in
            guard let error = error as? JobError else { return false }
            return error.code == .unknownFunction && error.message.contains("validation") && error.message.contains("sentiment")
        }
    }
}

/// Partials come back from Redis: counts no partition could have must not crash the reduce.
@Suite struct HostilePartialTests {
    @Test func hugeCountsSaturateOrFailThePartition() throws {
        let huge = JSONValue.integer(Int.max)
        let validation = try JobFunctions.builtIn.make("validation", parameters: ["rules": ["a": ["required": true]]])
        let partial: JSONValue = ["valid": huge, "invalid": huge, "byRule": ["a.required": huge], "byField": ["a": huge], "samples": []]
        let summaries = (0..<3).map { index in
            PartitionSummary(json: ["partition": .integer(index), "items": 10, "failed_items": 0, "partial": partial], partition: index)
        }
        let reduced = validation.reduce(summaries)
        #expect(reduced.result["valid"] == huge)
        #expect(reduced.result["by_rule"]?["a.required"] == huge)

        let tooMany = PartitionSummary(json: ["partition": 0, "items": huge, "failed_items": 0, "partial": [:]], partition: 0)
        #expect(tooMany.failure != nil)
        let moreFailedThanRead = PartitionSummary(json: ["partition": 0, "items": 5, "failed_items": 6, "partial": [:]], partition: 0)
        #expect(moreFailedThanRead.failure != nil)

        // Sketches and summaries near their decode limits merge without trapping.
        let near = JSONValue.integer((1 << 52) - 1)
        let sketch: JSONValue = [
            "alpha": 0.01, "max_buckets": 2048, "positive": ["offset": 0, "counts": [near]], "negative": ["offset": 0, "counts": []],
            "zero": near, "count": near, "min": 1, "max": 1,
        ]
        var merged = try sketch.decode(as: QuantileSketch.self)
        for _ in 0..<5000 { merged.merge(try sketch.decode(as: QuantileSketch.self)) }
        #expect(merged.count == .max)
        _ = merged.quantile(0.5)
        _ = merged.rank(below: 2)
    }
}
