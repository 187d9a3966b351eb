import Foundation

/// A small, safe expression over one dataset item: field references, number / string / boolean /
/// `null` literals, arithmetic (`+ - * / %`), comparisons (`== != < <= > >=`), `&&`, `||`, `!`,
/// string concatenation with `+`, and a few pure functions (`lower`, `upper`, `trim`, `len`,
/// `abs`, `round`, `number`, `string`, `coalesce`). Nothing else: no assignment, no loops, no
/// calls out, so a job's parameters can never run code on a worker.
///
/// ```swift
/// let total = try Expression("amount * 1.2 + fee")
/// let vip = try Expression("score >= 80 && category == 'a'")
/// try vip.evaluate(on: item).isTruthy
/// ```
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    indirect enum Node: Sendable, Hashable {
        case literal(JSONValue)
        case field([String])
        case unary(String, Node)
        case binary(String, Node, Node)
        case call(String, [Node])
    }

    let root: Node
    /// The source text.
    public let description: String

    /// Parses `source`.
    /// - Throws: ``ExpressionError`` naming the position and what was expected.
    public init(_ source: String) throws {
        self.root = try ExpressionParser.parse(source)
        self.description = source
    }

    /// The top-level fields the expression refers to (`a` of `a.b`).
    public var fieldReferences: Set<String> { Self.references(root) }

    private static func references(_ node: Node) -> Set<String> {
        switch node {
        case .literal: []
        case .field(let path): path.first.map { [$0] } ?? []
        case .unary(_, let operand): references(operand)
        case .binary(_, let left, let right): references(left).union(references(right))
        case .call(_, let arguments): arguments.reduce(into: Set<String>()) { $0.formUnion(references($1)) }
        }
    }

    /// Evaluates the expression on `item`; a field the item lacks is `null`.
    /// - Throws: ``ExpressionError`` for a type mismatch (`"a" * 2`), division by zero, arithmetic
    ///   on `null`, or an unknown function.
    public func evaluate(on item: JSONObject) throws -> JSONValue {
        try Self.evaluate(root, on: item)
    }

    private static func evaluate(_ node: Node, on item: JSONObject) throws -> JSONValue {
        switch node {
        case .literal(let value):
            return value
        case .field(let path):
            var value: JSONValue = .object(item)
            for name in path {
                guard case .object(let object) = value, let next = object[name] else { return .null }
                value = next
            }
            return value
        case .unary(let op, let operand):
            let value = try evaluate(operand, on: item)
            if op == "!" { return .bool(!value.isTruthy) }
            guard let number = value.doubleValue, value.isNumber else {
                throw ExpressionError("cannot negate \(value.typeName)")
            }
            if case .integer(let integer) = value, integer != .min { return .integer(-integer) }
            return .double(-number)
        case .binary("&&", let left, let right):
            return .bool(try evaluate(left, on: item).isTruthy && evaluate(right, on: item).isTruthy)
        case .binary("||", let left, let right):
            return .bool(try evaluate(left, on: item).isTruthy || evaluate(right, on: item).isTruthy)
        case .binary(let op, let left, let right):
            return try apply(op, try evaluate(left, on: item), try evaluate(right, on: item))
        case .call(let name, let arguments):
            return try call(name, arguments.map { try evaluate($0, on: item) })
        }
    }

    private static func apply(_ op: String, _ left: JSONValue, _ right: JSONValue) throws -> JSONValue {
        switch op {
        case "==": return .bool(equal(left, right))
        case "!=": return .bool(!equal(left, right))
        case "<", "<=", ">", ">=":
            guard let order = compare(left, right) else {
                throw ExpressionError("cannot compare \(left.typeName) with \(right.typeName)")
            }
            switch op {
            case "<": return .bool(order < 0)
            case "<=": return .bool(order <= 0)
            case ">": return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case "+" where left.stringValue != nil || right.stringValue != nil:
            guard !left.isNull, !right.isNull else { throw ExpressionError("cannot concatenate null") }
            return .string(left.text + right.text)
        default:
            return try arithmetic(op, left, right)
        }
    }

    private static func arithmetic(_ op: String, _ left: JSONValue, _ right: JSONValue) throws -> JSONValue {
        guard left.isNumber, right.isNumber, let a = left.doubleValue, let b = right.doubleValue else {
            throw ExpressionError("cannot apply \(op) to \(left.typeName) and \(right.typeName)")
        }
        if case .integer(let x) = left, case .integer(let y) = right {
            switch op {
            case "+":
                let (sum, overflow) = x.addingReportingOverflow(y)
                if !overflow { return .integer(sum) }
            case "-":
                let (difference, overflow) = x.subtractingReportingOverflow(y)
                if !overflow { return .integer(difference) }
            case "*":
                let (product, overflow) = x.multipliedReportingOverflow(by: y)
                if !overflow { return .integer(product) }
            case "%":
                guard y != 0 else { throw ExpressionError("modulo by zero") }
                let (remainder, overflow) = x.remainderReportingOverflow(dividingBy: y)
                if !overflow { return .integer(remainder) }
            default: break
            }
        }
        let value: Double
        switch op {
        case "+": value = a + b
        case "-": value = a - b
        case "*": value = a * b
        case "/":
            guard b != 0 else { throw ExpressionError("division by zero") }
            value = a / b
        case "%":
            guard b != 0 else { throw ExpressionError("modulo by zero") }
            value = a.truncatingRemainder(dividingBy: b)
        default: throw ExpressionError("unknown operator \(op)")
        }
        guard value.isFinite else { throw ExpressionError("\(op) overflowed") }
        return .double(value)
    }

    private static func call(_ name: String, _ arguments: [JSONValue]) throws -> JSONValue {
        func single() throws -> JSONValue {
            guard arguments.count == 1 else { throw ExpressionError("\(name)() takes one argument") }
            return arguments[0]
        }
        switch name {
        case "lower": return try single().stringValue.map { .string($0.lowercased()) } ?? .null
        case "upper": return try single().stringValue.map { .string($0.uppercased()) } ?? .null
        case "trim": return try single().stringValue.map { .string($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? .null
        case "len":
            let value = try single()
            if let text = value.stringValue { return .integer(text.count) }
            if let array = value.arrayValue { return .integer(array.count) }
            return .null
        case "abs":
            let value = try single()
            if case .integer(let integer) = value, integer != .min { return .integer(Swift.abs(integer)) }
            return value.isNumber ? value.doubleValue.map { .double(Swift.abs($0)) } ?? .null : .null
        case "round":
            let value = try single()
            guard value.isNumber, let number = value.doubleValue else { return .null }
            return .double(number.rounded())
        case "number": return try single().numericValue.map { .double($0) } ?? .null
        case "string":
            let value = try single()
            return value.isNull ? .null : .string(value.text)
        case "coalesce": return arguments.first { !$0.isNull } ?? .null
        default: throw ExpressionError("unknown function \(name)()")
        }
    }

    private static func equal(_ left: JSONValue, _ right: JSONValue) -> Bool {
        if left.isNumber, right.isNumber, let a = left.doubleValue, let b = right.doubleValue { return a == b }
        return left == right
    }

    private static func compare(_ left: JSONValue, _ right: JSONValue) -> Int? {
        if left.isNumber, right.isNumber, let a = left.doubleValue, let b = right.doubleValue {
            return a < b ? -1 : (a > b ? 1 : 0)
        }
        if let a = left.stringValue, let b = right.stringValue { return a < b ? -1 : (a > b ? 1 : 0) }
        return nil
    }
}

/// Why an expression could not be parsed or evaluated.
public struct ExpressionError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension JSONValue {
    /// Whether it is an integer or a floating-point number (not a numeric string, not a boolean).
    var isNumber: Bool {
        switch self {
        case .integer, .double: true
        default: false
        }
    }

    /// A number, or a string that reads as one (`" 42 "`, `"3.5"`); `nil` otherwise.
    var numericValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .double(let value): return value
        case .string(let text): return Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
        default: return nil
        }
    }

    /// Falsy: `null`, `false`, `0`, `""`, empty arrays and objects; truthy otherwise (Python's rule).
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let flag): flag
        case .integer(let value): value != 0
        case .double(let value): value != 0
        case .string(let text): !text.isEmpty
        case .array(let array): !array.isEmpty
        case .object(let object): !object.isEmpty
        }
    }

    /// The value as text for concatenation: strings as they are, others as JSON.
    var text: String { stringValue ?? serializedString }

    /// The JSON type's name, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}
