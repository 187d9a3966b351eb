import Foundation

/// `validation`: checks every item against rules per field and counts valid and invalid items,
/// failures per rule and per field, and keeps sample ids of invalid items.
///
/// Parameters: `{"rules": {"email": {"required": true, "type": "string", "format": "email"},
/// "age": {"type": "integer", "min": 0, "max": 120}, "name": {"min_length": 1, "max_length": 80},
/// "category": {"one_of": ["a", "b"]}, "code": {"regex": "^[A-Z]{3}$"}}, "id_field": "id",
/// "samples": 10}`. A missing or `null` field fails only `required`; a field of the wrong `type`
/// fails only that rule. Types: `string`, `integer`, `number`, `boolean`, `object`, `array`.
/// Formats: `email` (one `@`, a dotted domain, no spaces).
///
/// Result: `{"valid": .., "invalid": .., "by_rule": {"age.max": ..}, "by_field": {"age": ..},
/// "sample_invalid_ids": [..]}` (malformed lines are the job's `failed_items`).
public struct ValidationFunction: JobFunction, RecordViewFunction {
    public static let name = "validation"

    /// One field's rules, read once from the parameters (a class: the map loop reads it in
    /// place, where a struct of strings and arrays would be copied per item).
    final class Rule: Sendable {
        let field: String
        let required: Bool
        let type: ValueType?
        let minimum: Double?
        let maximum: Double?
        let minimumLength: Int?
        let maximumLength: Int?
        let format: Format?
        let regex: Pattern?
        let oneOf: [JSONValue]?
        /// The `one_of` strings' bytes, when every string in it is ASCII (an ASCII value equals a
        /// string only when their bytes do); `nil`: compare values.
        let asciiOneOf: [[UInt8]]?

        /// Reads the rules of `field` from its object in the parameters.
        /// - Throws: ``JobError`` `invalidParameters` naming the rule.
        init(field: String, _ spec: JobParameters) throws {
            try spec.allowOnly(["required", "type", "min", "max", "min_length", "max_length", "format", "regex", "one_of"])
            self.field = field
            required = try spec.bool("required", default: false)
            type = try spec.optionalString("type").map { type in
                guard let known = ValueType(rawValue: type) else {
                    throw spec.invalid(
                        "type", "unknown type '\(type)' (one of \(ValueType.allCases.map(\.rawValue).sorted().joined(separator: ", ")))")
                }
                return known
            }
            minimum = try spec.optionalNumber("min")
            maximum = try spec.optionalNumber("max")
            if let low = minimum, let high = maximum, low > high { throw spec.invalid("min", "is above max") }
            minimumLength = spec.object["min_length"] == nil ? nil : try spec.integer("min_length", default: 0)
            maximumLength = spec.object["max_length"] == nil ? nil : try spec.integer("max_length", default: 0)
            format = try spec.optionalString("format").map { format in
                guard let known = Format(rawValue: format) else {
                    throw spec.invalid(
                        "format", "unknown format '\(format)' (one of \(Format.allCases.map(\.rawValue).sorted().joined(separator: ", ")))")
                }
                return known
            }
            regex = try spec.optionalString("regex").map { source in
                guard source.utf8.count <= 1024 else { throw spec.invalid("regex", "longer than 1024 bytes") }
                do {
                    return Pattern(expression: try NSRegularExpression(pattern: source))
                } catch {
                    throw spec.invalid("regex", "not a valid regular expression: \(error)")
                }
            }
            if let values = spec.object["one_of"] {
                guard let array = values.arrayValue, !array.isEmpty else {
                    throw spec.invalid("one_of", "expected a non-empty array")
                }
                oneOf = array
                let strings = array.compactMap(\.stringValue)
                asciiOneOf = strings.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } } ? strings.map { Array($0.utf8) } : nil
            } else {
                oneOf = nil
                asciiOneOf = nil
            }
        }
    }

    /// The `type` a rule asks for.
    enum ValueType: String, CaseIterable, Sendable {
        case string, integer, number, boolean, object, array
    }

    /// The `format` a rule asks for.
    enum Format: String, CaseIterable, Sendable {
        case email
    }

    /// A compiled regular expression.
    struct Pattern: @unchecked Sendable {
        // NSRegularExpression is immutable once made and documented safe to use from many threads.
        let expression: NSRegularExpression
        func matches(_ text: String) -> Bool {
            expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
    }

    public struct Partial: Codable, Sendable, Hashable {
        public var valid = 0
        public var invalid = 0
        public var byRule: [String: Int] = [:]
        public var byField: [String: Int] = [:]
        public var samples: [JSONValue] = []
    }

    let rules: [Rule]
    let idField: String
    let sampleCount: Int
    /// The view's slot of each rule's field, and of the id field (see ``viewFields``).
    let ruleSlots: [Int]
    let idSlot: Int
    let viewFields: [String]?

    public init(parameters: JobParameters) throws {
        try parameters.allowOnly(["rules", "id_field", "samples"])
        let rules = try parameters.object("rules")
        guard !rules.object.isEmpty else { throw parameters.invalid("rules", "must name at least one field") }
        self.rules = try parameters.eachMember(of: "rules") { rules, field in
            try Rule(field: field, try rules.object(field))
        }.map(\.1)
        idField = try parameters.optionalString("id_field") ?? "id"
        sampleCount = try parameters.integer("samples", default: 10, in: 0...1000)
        var slots = ViewSlots()
        ruleSlots = self.rules.map { slots.slot($0.field) }
        idSlot = slots.slot(idField)
        viewFields = slots.fields
    }

    public var fieldsRead: Set<String>? { Set(rules.map(\.field) + [idField]) }

    public func makePartial() -> Partial { Partial() }

    public func map(_ item: JSONObject, into partial: inout Partial) throws -> JSONObject? {
        var failedAny = false
        for rule in rules {
            guard let failed = Self.check(item[rule.field], against: rule) else { continue }
            failedAny = true
            partial.byRule[rule.field + "." + failed, default: 0] += 1
            partial.byField[rule.field, default: 0] += 1
        }
        if failedAny {
            partial.invalid += 1
            if partial.samples.count < sampleCount { partial.samples.append(item[idField] ?? .null) }
        } else {
            partial.valid += 1
        }
        return nil
    }

    /// The name of the first rule `value` fails, or `nil`.
    static func check(_ value: JSONValue?, against rule: Rule) -> String? {
        guard let value, !value.isNull else { return rule.required ? "required" : nil }
        if let type = rule.type, !matches(value, type: type) { return "type" }
        if rule.minimum != nil || rule.maximum != nil {
            guard value.isNumber, let number = value.doubleValue else { return "type" }
            if let minimum = rule.minimum, number < minimum { return "min" }
            if let maximum = rule.maximum, number > maximum { return "max" }
        }
        if rule.minimumLength != nil || rule.maximumLength != nil || rule.format != nil || rule.regex != nil {
            guard let text = value.stringValue else { return "type" }
            if rule.minimumLength != nil || rule.maximumLength != nil {
                let length = text.unicodeScalars.count  // code points, as Python's len()
                if let minimum = rule.minimumLength, length < minimum { return "min_length" }
                if let maximum = rule.maximumLength, length > maximum { return "max_length" }
            }
            if rule.format == .email, !isEmail(text) { return "format" }
            if let regex = rule.regex, !regex.matches(text) { return "regex" }
        }
        if let oneOf = rule.oneOf, !oneOf.contains(value) { return "one_of" }
        return nil
    }

    static func matches(_ value: JSONValue, type: ValueType) -> Bool {
        switch (type, value) {
        case (.string, .string), (.integer, .integer), (.number, .integer), (.number, .double),
            (.boolean, .bool), (.object, .object), (.array, .array):
            true
        case (.integer, .double(let number)): number.rounded() == number
        default: false
        }
    }

    /// A plain address check: one `@`, a non-empty local part, a domain with a dot inside, no spaces.
    static func isEmail(_ text: String) -> Bool { isEmail(utf8: text.utf8) }

    /// ``isEmail(_:)`` of a string's UTF-8 bytes.
    static func isEmail<Bytes: BidirectionalCollection<UInt8>>(utf8 bytes: Bytes) -> Bool {
        guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), at != bytes.startIndex else { return false }
        let domain = bytes[bytes.index(after: at)...]
        guard !domain.contains(UInt8(ascii: "@")), let dot = domain.lastIndex(of: UInt8(ascii: ".")),
            dot != domain.startIndex, domain.index(after: dot) != domain.endIndex
        else { return false }
        return !bytes.contains { $0 <= 0x20 }
    }

    public func merge(_ other: Partial, into partial: inout Partial) {
        partial.valid = partial.valid.addingSaturated(other.valid)
        partial.invalid = partial.invalid.addingSaturated(other.invalid)
        partial.byRule.merge(other.byRule, uniquingKeysWith: Int.saturated)
        partial.byField.merge(other.byField, uniquingKeysWith: Int.saturated)
        partial.samples.append(contentsOf: other.samples.prefix(max(0, sampleCount - partial.samples.count)))
    }

    public func result(of partial: Partial) -> JSONObject {
        [
            "valid": .integer(partial.valid), "invalid": .integer(partial.invalid),
            "by_rule": .object(JSONObject(partial.byRule.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            "by_field": .object(JSONObject(partial.byField.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            "sample_invalid_ids": .array(partial.samples),
        ]
    }
}
