import Foundation

/// `transformation`: rewrites every item and writes it to the job's output.
///
/// Parameters, applied in this order: `{"rename": {"old": "new"}, "drop": ["x"],
/// "normalize": {"name": ["trim", "lower"]}, "convert": {"age": "integer"},
/// "compute": {"total": "amount * 1.2 + fee"}}`. Normalisations: `trim`, `lower`, `upper`,
/// `collapse_spaces`. Conversions: `integer`, `number`, `string`, `boolean`. Computed fields are
/// ``Expression``s over the item as it is at that point.
///
/// A conversion or computation that fails leaves the field unset (`null`) and is counted per
/// field; the item is still written. Result: `{"written": .., "conversions_failed": {"age": ..},
/// "computations_failed": {"total": ..}}`.
public struct TransformationFunction: JobFunction {
    public static let name = "transformation"
    static let normalisations: Set<String> = ["trim", "lower", "upper", "collapse_spaces"]
    static let conversions: Set<String> = ["integer", "number", "string", "boolean"]

    public struct Partial: Codable, Sendable, Hashable {
        public var written = 0
        public var conversionsFailed: [String: Int] = [:]
        public var computationsFailed: [String: Int] = [:]
    }

    let rename: [(from: String, to: String)]
    let drop: Set<String>
    let normalize: [(field: String, steps: [String])]
    let convert: [(field: String, type: String)]
    let compute: [(field: String, expression: Expression)]

    public init(parameters: JobParameters) throws {
        try parameters.allowOnly(["rename", "drop", "normalize", "convert", "compute"])
        rename = try parameters.eachMember(of: "rename") { try $0.string($1) }.map { ($0, $1) }
        drop = Set(try parameters.optionalStrings("drop") ?? [])
        normalize = try parameters.eachMember(of: "normalize") { object, key in
            let steps = try object.strings(key)
            if let unknown = steps.first(where: { !Self.normalisations.contains($0) }) {
                throw object.invalid(key, "unknown normalisation '\(unknown)' (\(Self.normalisations.sorted().joined(separator: ", ")))")
            }
            return steps
        }.map { ($0, $1) }
        convert = try parameters.eachMember(of: "convert") { object, key in
            let type = try object.string(key)
            guard Self.conversions.contains(type) else {
                throw object.invalid(key, "unknown type '\(type)' (\(Self.conversions.sorted().joined(separator: ", ")))")
            }
            return type
        }.map { ($0, $1) }
        compute = try parameters.eachMember(of: "compute") { try $0.expression($1) }.map { ($0, $1) }
        guard !(rename.isEmpty && drop.isEmpty && normalize.isEmpty && convert.isEmpty && compute.isEmpty) else {
            throw JobError(.invalidParameters, "give at least one of rename, drop, normalize, convert, compute", field: "$")
        }
    }

    public func makePartial() -> Partial { Partial() }

    public func map(_ item: JSONObject, into partial: inout Partial) throws -> JSONObject? {
        var item = item
        for (from, to) in rename {
            guard let value = item[from] else { continue }
            item[from] = nil
            item[to] = value
        }
        for field in drop { item[field] = nil }
        for (field, steps) in normalize {
            guard var text = item[field]?.stringValue else { continue }
            for step in steps {
                switch step {
                case "trim": text = text.trimmingCharacters(in: .whitespacesAndNewlines)
                case "lower": text = text.lowercased()
                case "upper": text = text.uppercased()
                default: text = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                }
            }
            item[field] = .string(text)
        }
        for (field, type) in convert {
            guard let value = item[field], !value.isNull else { continue }
            if let converted = Self.convert(value, to: type) {
                item[field] = converted
            } else {
                item[field] = .null
                partial.conversionsFailed[field, default: 0] += 1
            }
        }
        for (field, expression) in compute {
            do {
                item[field] = try expression.evaluate(on: item)
            } catch {
                item[field] = .null
                partial.computationsFailed[field, default: 0] += 1
            }
        }
        partial.written += 1
        return item
    }

    /// `value` as `type`, or `nil` when it does not convert.
    static func convert(_ value: JSONValue, to type: String) -> JSONValue? {
        switch type {
        case "integer":
            if case .integer = value { return value }
            guard let number = value.numericValue, number.rounded() == number, abs(number) < 9e15 else { return nil }
            return .integer(Int(number))
        case "number":
            return value.numericValue.map(JSONValue.double)
        case "string":
            return .string(value.text)
        default:
            if case .bool = value { return value }
            switch value.stringValue?.lowercased() ?? value.intValue.map(String.init) {
            case "true"?, "yes"?, "1"?: return .bool(true)
            case "false"?, "no"?, "0"?: return .bool(false)
            default: return nil
            }
        }
    }

    public func merge(_ other: Partial, into partial: inout Partial) {
        partial.written = partial.written.addingSaturated(other.written)
        partial.conversionsFailed.merge(other.conversionsFailed, uniquingKeysWith: Int.saturated)
        partial.computationsFailed.merge(other.computationsFailed, uniquingKeysWith: Int.saturated)
    }

    public func result(of partial: Partial) -> JSONObject {
        [
            "written": .integer(partial.written),
            "conversions_failed": .object(JSONObject(partial.conversionsFailed.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
            "computations_failed": .object(JSONObject(partial.computationsFailed.sorted { $0.key < $1.key }.map { ($0.key, .integer($0.value)) })),
        ]
    }
}
