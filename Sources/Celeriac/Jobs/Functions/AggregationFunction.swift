/// `aggregation`: groups items by one or more fields and summarises other fields per group.
///
/// Parameters: `{"group_by": ["category"], "metrics": {"amount": ["sum", "count", "avg", "min",
/// "max"]}, "max_groups": 10000}`. A missing group field groups as `null`; a metric counts only
/// the numeric values of its field. An item that would open a group past `max_groups` is a failed
/// item (the partial stays bounded).
///
/// Result: `{"groups": [{"key": {"category": "a"}, "items": 10, "amount": {"sum", "count", "avg",
/// "min", "max"}}, ...]}`, groups sorted by key.
public struct AggregationFunction: JobFunction, RecordViewFunction {
    public static let name = "aggregation"
    static let operations: Set<String> = ["sum", "count", "avg", "min", "max"]

    public struct Group: Codable, Sendable, Hashable {
        public var key: [JSONValue]
        public var items = 0
        public var metrics: [NumericSummary]
    }

    /// Groups by their key's JSON text.
    public typealias Partial = [String: Group]

    let groupBy: [String]
    let metrics: [(field: String, operations: [String])]
    let maximumGroups: Int
    /// The group and metric fields without repeats (the record view's slots), and their slots.
    let viewFields: [String]?
    let groupSlots: [Int]
    let metricSlots: [Int]

    public init(parameters: JobParameters) throws {
        try parameters.allowOnly(["group_by", "metrics", "max_groups"])
        groupBy = try parameters.strings("group_by")
        _ = try parameters.object("metrics")
        metrics = try parameters.eachMember(of: "metrics") { metrics, field in
            let operations = try metrics.strings(field)
            for (index, operation) in operations.enumerated() where !Self.operations.contains(operation) {
                throw JobError(
                    .invalidParameters, "unknown metric '\(operation)' (one of sum, count, avg, min, max)",
                    field: "\(metrics.field(field))[\(index)]")
            }
            return operations
        }.map { ($0, $1) }
        guard !metrics.isEmpty else { throw parameters.invalid("metrics", "must name at least one field") }
        maximumGroups = try parameters.integer("max_groups", default: 10_000, in: 1...1_000_000)
        var slots = ViewSlots()
        groupSlots = groupBy.map { slots.slot($0) }
        metricSlots = metrics.map { slots.slot($0.field) }
        viewFields = slots.fields
    }

    public var fieldsRead: Set<String>? { Set(groupBy).union(metrics.map(\.field)) }

    public func makePartial() -> Partial { [:] }

    public func map(_ item: JSONObject, into partial: inout Partial) throws -> JSONObject? {
        let numbers = metrics.map { metric in item[metric.field].flatMap { $0.isNumber ? $0.doubleValue : nil } }
        try fold(key: groupBy.map { item[$0] ?? .null }, numbers: numbers, into: &partial)
        return nil
    }

    func map(view record: borrowing JSONRecordView, into partial: inout Partial) throws {
        let numbers = metricSlots.map { record.number($0) }
        try fold(key: groupSlots.map { record.value($0) ?? .null }, numbers: numbers, into: &partial)
    }

    /// Counts an item of group `key` and adds its metric values (`nil`: not a number).
    private func fold(key: [JSONValue], numbers: [Double?], into partial: inout Partial) throws {
        let text = JSONValue.array(key).serializedString
        if partial[text] == nil {
            guard partial.count < maximumGroups else { throw AggregationError(limit: maximumGroups) }
            partial[text] = Group(key: key, metrics: metrics.map { _ in NumericSummary() })
        }
        partial[text]?.items += 1
        for (index, number) in numbers.enumerated() {
            if let number { partial[text]?.metrics[index].add(number) }
        }
    }

    public func merge(_ other: Partial, into partial: inout Partial) {
        for (text, group) in other {
            guard var existing = partial[text] else {
                partial[text] = group
                continue
            }
            existing.items = existing.items.addingSaturated(group.items)
            for index in existing.metrics.indices where index < group.metrics.count {
                existing.metrics[index].merge(group.metrics[index])
            }
            partial[text] = existing
        }
    }

    public func result(of partial: Partial) -> JSONObject {
        let groups = partial.sorted { $0.key < $1.key }.map { _, group -> JSONValue in
            var object: JSONObject = [
                "key": .object(JSONObject(zip(groupBy, group.key).map { ($0, $1) })), "items": .integer(group.items),
            ]
            for (index, metric) in metrics.enumerated() {
                let summary = index < group.metrics.count ? group.metrics[index] : NumericSummary()
                var values = JSONObject()
                for operation in metric.operations {
                    switch operation {
                    case "sum": values["sum"] = .double(summary.sum)
                    case "count": values["count"] = .integer(summary.count)
                    case "avg": values["avg"] = summary.count > 0 ? .double(summary.mean) : .null
                    case "min": values["min"] = summary.count > 0 ? .double(summary.minimum) : .null
                    default: values["max"] = summary.count > 0 ? .double(summary.maximum) : .null
                    }
                }
                object[metric.field] = .object(values)
            }
            return .object(object)
        }
        return ["groups": .array(groups)]
    }
}

struct AggregationError: Error, CustomStringConvertible {
    let limit: Int
    var description: String { "more than \(limit) groups (raise max_groups)" }
}
