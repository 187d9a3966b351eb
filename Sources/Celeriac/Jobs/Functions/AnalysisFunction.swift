/// `analysis`: per numeric field the count, mean, minimum, maximum, population standard deviation
/// and p50 / p90 / p99; anomalies by z-score; optionally categories by rules.
///
/// Parameters: `{"fields": ["score", "amount"], "zscore": 3, "categories": {"rules": [...],
/// "default": "other"}}`. A value that is missing or not a number (a numeric string included) is
/// not counted for that field.
///
/// Percentiles come from a ``QuantileSketch`` with 1% relative error. Anomalies (values with
/// `|x − mean| > zscore·stddev` against the **whole dataset's** mean and deviation) are counted in
/// one pass, from the merged sketch: exact except for values within 1% of either bound.
///
/// Result: `{"fields": {"score": {"count", "mean", "min", "max", "stddev", "p50", "p90", "p99",
/// "anomalies"}}, "categories": {...}}`.
public struct AnalysisFunction: JobFunction, RecordViewFunction {
    public static let name = "analysis"

    public struct FieldPartial: Codable, Sendable, Hashable {
        public var summary = NumericSummary()
        public var sketch = QuantileSketch()
    }

    /// The summaries of the fields, in the parameters' order (arrays, not a dictionary: the map
    /// loop updates them by position, without hashing a name per value).
    public struct Partial: Codable, Sendable, Hashable {
        public var names: [String] = []
        public var fields: [FieldPartial] = []
        public var categories: [String: Int]?

        subscript(name name: String) -> FieldPartial? {
            names.firstIndex(of: name).map { fields[$0] }
        }
    }

    let fields: [String]
    let zscore: Double
    let categories: ClassRules?
    /// The fields without repeats, then the category rules' (the record view's slots), and
    /// each field's slot.
    let viewFields: [String]?
    let fieldSlots: [Int]
    /// The category rules' fields: their slots, and the layout of the object the rules see.
    let categorySlots: [Int]
    let categoryLayout: JSONKeyLayout

    public init(parameters: JobParameters) throws {
        try parameters.allowOnly(["fields", "zscore", "categories"])
        fields = try parameters.strings("fields")
        guard fields.count <= 256 else { throw parameters.invalid("fields", "more than 256 fields") }
        zscore = try parameters.optionalNumber("zscore") ?? 3
        guard zscore > 0 else { throw parameters.invalid("zscore", "must be above 0") }
        categories = try parameters.optionalObject("categories").map { nested in
            try nested.allowOnly(["rules", "default"])
            return try ClassRules(nested)
        }
        var slots = ViewSlots()
        fieldSlots = fields.map { slots.slot($0) }
        let referenced = (categories?.fieldReferences ?? []).sorted()
        categorySlots = referenced.map { slots.slot($0) }
        categoryLayout = JSONKeyLayout(referenced)
        viewFields = slots.fields
    }

    public var fieldsRead: Set<String>? { Set(fields).union(categories?.fieldReferences ?? []) }

    public func makePartial() -> Partial {
        Partial(names: fields, fields: fields.map { _ in FieldPartial() }, categories: categories.map { _ in [:] })
    }

    public func map(_ item: JSONObject, into partial: inout Partial) throws -> JSONObject? {
        for (index, field) in fields.enumerated() {
            guard let value = item[field], value.isNumber, let number = value.doubleValue, number.isFinite else { continue }
            partial.fields[index].summary.add(number)
            partial.fields[index].sketch.add(number)
        }
        if let categories { partial.categories?[categories.classify(item), default: 0] += 1 }
        return nil
    }

    func map(view record: borrowing JSONRecordView, into partial: inout Partial) throws {
        for (index, slot) in fieldSlots.enumerated() {
            guard let number = record.number(slot), number.isFinite else { continue }
            partial.fields[index].summary.add(number)
            partial.fields[index].sketch.add(number)
        }
        if let categories {
            partial.categories?[categories.classify(record, slots: categorySlots, layout: categoryLayout), default: 0] += 1
        }
    }

    public func merge(_ other: Partial, into partial: inout Partial) {
        for (name, part) in zip(other.names, other.fields) {
            guard let index = partial.names.firstIndex(of: name) else {
                partial.names.append(name)
                partial.fields.append(part)
                continue
            }
            partial.fields[index].summary.merge(part.summary)
            partial.fields[index].sketch.merge(part.sketch)
        }
        if let counts = other.categories { partial.categories = (partial.categories ?? [:]).merging(counts, uniquingKeysWith: Int.saturated) }
    }

    public func result(of partial: Partial) -> JSONObject {
        var result: JSONObject = [:]
        var byField = JSONObject()
        for field in fields {
            let part = partial[name: field] ?? FieldPartial()
            let summary = part.summary
            guard summary.count > 0 else {
                byField[field] = [
                    "count": 0, "mean": nil, "min": nil, "max": nil, "stddev": nil, "p50": nil, "p90": nil, "p99": nil,
                    "anomalies": 0,
                ]
                continue
            }
            let deviation = summary.standardDeviation
            let low = summary.mean - zscore * deviation
            let high = summary.mean + zscore * deviation
            let above = max(summary.count - min(part.sketch.rank(below: high.nextUp), summary.count), 0)
            let anomalies = deviation > 0 ? part.sketch.rank(below: low).addingSaturated(above) : 0
            byField[field] = [
                "count": .integer(summary.count), "mean": .double(summary.mean), "min": .double(summary.minimum),
                "max": .double(summary.maximum), "stddev": .double(deviation),
                "p50": part.sketch.quantile(0.5).map(JSONValue.double) ?? .null,
                "p90": part.sketch.quantile(0.9).map(JSONValue.double) ?? .null,
                "p99": part.sketch.quantile(0.99).map(JSONValue.double) ?? .null,
                "anomalies": .integer(max(anomalies, 0)),
            ]
        }
        result["fields"] = .object(byField)
        if let categories { result["categories"] = categories.counts(partial.categories ?? [:]) }
        return result
    }
}
