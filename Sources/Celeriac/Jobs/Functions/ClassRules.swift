/// Ordered classification rules: the first rule whose `when` expression is true names the class,
/// else the default. Parameters: `{"rules": [{"class": "vip", "when": "amount > 500"}, ...],
/// "default": "other"}`. A rule whose expression cannot be evaluated on an item (a missing
/// field compared with a number) does not match it.
struct ClassRules: Sendable {
    let rules: [(name: String, condition: Expression)]
    let defaultClass: String

    init(_ parameters: JobParameters) throws {
        let rules = try parameters.optionalObjects("rules") ?? []
        guard !rules.isEmpty else { throw parameters.invalid("rules", "required: at least one {\"class\", \"when\"}") }
        guard rules.count <= 1000 else { throw parameters.invalid("rules", "more than 1000 rules") }
        self.rules = try rules.map { rule in
            try rule.allowOnly(["class", "when"])
            return (try rule.string("class"), try rule.expression("when"))
        }
        defaultClass = try parameters.optionalString("default") ?? "other"
    }

    /// The fields the rules read.
    var fieldReferences: Set<String> { rules.reduce(into: Set<String>()) { $0.formUnion($1.condition.fieldReferences) } }

    /// The class names in order: the rules' first, then the default.
    var classNames: [String] {
        var seen = Set<String>()
        return (rules.map(\.name) + [defaultClass]).filter { seen.insert($0).inserted }
    }

    func classify(_ item: JSONObject) -> String {
        for rule in rules where (try? rule.condition.evaluate(on: item))?.isTruthy == true { return rule.name }
        return defaultClass
    }

    /// ``classify(_:)`` of a record view: the rules see an object of the fields they name, read at
    /// `slots` (in `layout`'s order; an absent field as null, which is how they read a missing one).
    func classify(_ record: borrowing JSONRecordView, slots: [Int], layout: JSONKeyLayout) -> String {
        classify(JSONObject(layout: layout, values: slots.map { record.value($0) ?? .null }))
    }

    /// Counts by class as a JSON object, in ``classNames`` order (classes with no item show 0).
    func counts(_ counts: [String: Int]) -> JSONValue {
        .object(JSONObject(classNames.map { ($0, .integer(counts[$0] ?? 0)) }))
    }
}

/// `classification`: sorts items into classes by rules (first match wins, with a default class).
///
/// Parameters as ``ClassRules``; result `{"classes": {"vip": 120, "other": 880}}`.
public struct ClassificationFunction: JobFunction, RecordViewFunction {
    public static let name = "classification"
    let rules: ClassRules
    /// The fields the rules name, as the record view's slots, and the object the rules see.
    let viewFields: [String]?
    let slots: [Int]
    let layout: JSONKeyLayout

    public init(parameters: JobParameters) throws {
        try parameters.allowOnly(["rules", "default"])
        rules = try ClassRules(parameters)
        let fields = rules.fieldReferences.sorted()
        viewFields = fields
        slots = Array(fields.indices)
        layout = JSONKeyLayout(fields)
    }

    public var fieldsRead: Set<String>? { rules.fieldReferences }

    public func makePartial() -> [String: Int] { [:] }

    public func map(_ item: JSONObject, into partial: inout [String: Int]) throws -> JSONObject? {
        partial[rules.classify(item), default: 0] += 1
        return nil
    }

    func map(view record: borrowing JSONRecordView, into partial: inout [String: Int]) throws {
        partial[rules.classify(record, slots: slots, layout: layout), default: 0] += 1
    }

    public func merge(_ other: [String: Int], into partial: inout [String: Int]) {
        partial.merge(other, uniquingKeysWith: Int.saturated)
    }

    public func result(of partial: [String: Int]) -> JSONObject {
        ["classes": rules.counts(partial)]
    }
}
