/// `enrichment`: adds fields from lookup tables given in the parameters and fields derived from
/// the item itself, and writes the enriched items to the job's output.
///
/// Parameters: `{"lookups": [{"field": "category", "table": {"a": {"category_name": "Alpha"}},
/// "prefix": ""}], "derive": {"email_domain": "email", "age_band": "age"}}`. A lookup matches the
/// field's value as text and copies the row's members (with `prefix`); derivations:
/// `email_domain` (lower-cased part after `@`), `age_band` (`<18`, `18-29`, `30-44`, `45-64`,
/// `65+`), `name_length`. The key of `derive` is the new field, its value the source field.
///
/// Result: `{"written": .., "lookups": {"category": {"hits": .., "misses": ..}},
/// "derived": {"email_domain": {"hits": .., "misses": ..}}}`.
public struct EnrichmentFunction: JobFunction {
    public static let name = "enrichment"
    static let derivations: Set<String> = ["email_domain", "age_band", "name_length"]

    public struct Counts: Codable, Sendable, Hashable {
        public var hits = 0
        public var misses = 0
        mutating func add(_ other: Counts) {
            hits = hits.addingSaturated(other.hits)
            misses = misses.addingSaturated(other.misses)
        }
    }

    public struct Partial: Codable, Sendable, Hashable {
        public var written = 0
        public var lookups: [String: Counts] = [:]
        public var derived: [String: Counts] = [:]
    }

    struct Lookup: Sendable {
        var field: String
        var table: [String: JSONObject]
        var prefix: String
    }

    let lookups: [Lookup]
    let derive: [(target: String, derivation: String, source: String)]

    public init(parameters: JobParameters) throws {
        try parameters.allowOnly(["lookups", "derive"])
        lookups = try (parameters.optionalObjects("lookups") ?? []).map { lookup in
            try lookup.allowOnly(["field", "table", "prefix"])
            let table = try lookup.object("table")
            let rows = try table.object.keys.map { key -> (String, JSONObject) in
                guard case .object(let row)? = table.object[key] else { throw table.invalid(key, "expected an object of fields to add") }
                return (key, row)
            }
            return Lookup(
                field: try lookup.string("field"), table: Dictionary(rows, uniquingKeysWith: { _, last in last }),
                prefix: try lookup.optionalString("prefix") ?? "")
        }
        derive = try parameters.eachMember(of: "derive") { object, target in
            let source = try object.string(target)
            let derivation = Self.derivations.contains(target) ? target : nil
            guard let derivation else {
                throw object.invalid(target, "unknown derivation (one of \(Self.derivations.sorted().joined(separator: ", ")))")
            }
            return (derivation, source)
        }.map { ($0, $1.0, $1.1) }
        guard !lookups.isEmpty || !derive.isEmpty else {
            throw JobError(.invalidParameters, "give lookups or derive", field: "$")
        }
    }

    public func makePartial() -> Partial { Partial() }

    public func map(_ item: JSONObject, into partial: inout Partial) throws -> JSONObject? {
        var item = item
        for lookup in lookups {
            if let value = item[lookup.field], !value.isNull, let row = lookup.table[value.text] {
                for (key, added) in row { item[lookup.prefix + key] = added }
                partial.lookups[lookup.field, default: Counts()].hits += 1
            } else {
                partial.lookups[lookup.field, default: Counts()].misses += 1
            }
        }
        for (target, derivation, source) in derive {
            if let value = Self.derive(derivation, from: item[source]) {
                item[target] = value
                partial.derived[target, default: Counts()].hits += 1
            } else {
                partial.derived[target, default: Counts()].misses += 1
            }
        }
        partial.written += 1
        return item
    }

    static func derive(_ derivation: String, from value: JSONValue?) -> JSONValue? {
        switch derivation {
        case "email_domain":
            guard let text = value?.stringValue, ValidationFunction.isEmail(text),
                let at = text.lastIndex(of: "@")
            else { return nil }
            return .string(text[text.index(after: at)...].lowercased())
        case "age_band":
            guard let value, value.isNumber, let age = value.doubleValue, age >= 0, age < 200 else { return nil }
            switch age {
            case ..<18: return "<18"
            case ..<30: return "18-29"
            case ..<45: return "30-44"
            case ..<65: return "45-64"
            default: return "65+"
            }
        default:
            return value?.stringValue.map { .integer($0.count) }
        }
    }

    public func merge(_ other: Partial, into partial: inout Partial) {
        partial.written = partial.written.addingSaturated(other.written)
        for (key, counts) in other.lookups { partial.lookups[key, default: Counts()].add(counts) }
        for (key, counts) in other.derived { partial.derived[key, default: Counts()].add(counts) }
    }

    public func result(of partial: Partial) -> JSONObject {
        func table(_ counts: [String: Counts]) -> JSONValue {
            .object(
                JSONObject(
                    counts.sorted { $0.key < $1.key }.map {
                        ($0.key, ["hits": .integer($0.value.hits), "misses": .integer($0.value.misses)])
                    }))
        }
        return ["written": .integer(partial.written), "lookups": table(partial.lookups), "derived": table(partial.derived)]
    }
}
