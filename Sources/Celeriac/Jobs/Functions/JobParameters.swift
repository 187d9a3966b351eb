import Foundation

/// A job function's JSON parameters, read with errors that name the field at fault
/// (`parameter rules.age.min: expected a number, got "ten"`).
public struct JobParameters: Sendable {
    /// The parameters object.
    public let object: JSONObject
    /// Where this object sits in the whole parameters (`"rules.age"`), empty at the top.
    public let path: String

    /// Wraps the parameters of a job; anything but an object (or `null`, read as `{}`) is refused.
    /// - Throws: ``JobError`` `invalidParameters`.
    public init(_ value: JSONValue) throws {
        switch value {
        case .object(let object): self.init(object: object, path: "")
        case .null: self.init(object: [:], path: "")
        default: throw JobError(.invalidParameters, "parameters must be a JSON object, got \(value.typeName)", field: "$")
        }
    }

    init(object: JSONObject, path: String) {
        self.object = object
        self.path = path
    }

    /// The full name of `key` in the parameters.
    public func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key`.
    public func invalid(_ key: String, _ message: String) -> JobError {
        JobError(.invalidParameters, message, field: field(key))
    }

    /// Refuses keys other than `allowed` (a misspelt option must not pass silently).
    /// - Throws: ``JobError`` `invalidParameters` naming the first unknown key.
    public func allowOnly(_ allowed: Set<String>) throws {
        if let unknown = object.keys.first(where: { !allowed.contains($0) }) {
            throw invalid(unknown, "unknown parameter (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private func value(_ key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    /// A nested object, `nil` when absent.
    /// - Throws: ``JobError`` when it is not an object.
    public func optionalObject(_ key: String) throws -> JobParameters? {
        guard let value = value(key) else { return nil }
        guard case .object(let nested) = value else { throw invalid(key, "expected an object, got \(value.typeName)") }
        return JobParameters(object: nested, path: field(key))
    }

    /// A nested object.
    /// - Throws: ``JobError`` when missing or not an object.
    public func object(_ key: String) throws -> JobParameters {
        guard let nested = try optionalObject(key) else { throw invalid(key, "required") }
        return nested
    }

    /// A string, `nil` when absent.
    /// - Throws: ``JobError`` when it is not a string.
    public func optionalString(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else { throw invalid(key, "expected a string, got \(value.typeName)") }
        return text
    }

    /// A string.
    /// - Throws: ``JobError`` when missing or not a string.
    public func string(_ key: String) throws -> String {
        guard let text = try optionalString(key) else { throw invalid(key, "required") }
        return text
    }

    /// A finite number, `nil` when absent.
    /// - Throws: ``JobError`` when it is not a finite number.
    public func optionalNumber(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard value.isNumber, let number = value.doubleValue, number.isFinite else {
            throw invalid(key, "expected a number, got \(value.typeName)")
        }
        return number
    }

    /// An integer in `range`, or `defaultValue` when absent.
    /// - Throws: ``JobError`` when it is not an integer or outside `range`.
    public func integer(_ key: String, default defaultValue: Int, in range: ClosedRange<Int> = 0...1_000_000) throws -> Int {
        guard let value = value(key) else { return defaultValue }
        guard case .integer(let integer) = value else { throw invalid(key, "expected an integer, got \(value.typeName)") }
        guard range.contains(integer) else {
            throw invalid(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(integer)")
        }
        return integer
    }

    /// A boolean, or `defaultValue` when absent.
    /// - Throws: ``JobError`` when it is not a boolean.
    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let value = value(key) else { return defaultValue }
        guard let flag = value.boolValue else { throw invalid(key, "expected true or false, got \(value.typeName)") }
        return flag
    }

    /// An array of strings, `nil` when absent.
    /// - Throws: ``JobError`` naming the element that is not a string.
    public func optionalStrings(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard let array = value.arrayValue else { throw invalid(key, "expected an array of strings, got \(value.typeName)") }
        return try array.enumerated().map { index, element in
            guard let text = element.stringValue else {
                throw JobError(.invalidParameters, "expected a string, got \(element.typeName)", field: "\(field(key))[\(index)]")
            }
            return text
        }
    }

    /// A non-empty array of strings.
    /// - Throws: ``JobError`` when missing, empty, or holding something else.
    public func strings(_ key: String) throws -> [String] {
        guard let strings = try optionalStrings(key) else { throw invalid(key, "required") }
        guard !strings.isEmpty else { throw invalid(key, "must not be empty") }
        return strings
    }

    /// An array of objects, `nil` when absent.
    /// - Throws: ``JobError`` naming the element that is not an object.
    public func optionalObjects(_ key: String) throws -> [JobParameters]? {
        guard let value = value(key) else { return nil }
        guard let array = value.arrayValue else { throw invalid(key, "expected an array of objects, got \(value.typeName)") }
        return try array.enumerated().map { index, element in
            guard case .object(let nested) = element else {
                throw JobError(.invalidParameters, "expected an object, got \(element.typeName)", field: "\(field(key))[\(index)]")
            }
            return JobParameters(object: nested, path: "\(field(key))[\(index)]")
        }
    }

    /// An expression (see ``Expression``).
    /// - Throws: ``JobError`` when missing, not a string, or not a valid expression.
    public func expression(_ key: String) throws -> Expression {
        let source = try string(key)
        do {
            return try Expression(source)
        } catch let error as ExpressionError {
            throw invalid(key, error.message)
        }
    }

    /// Reads every member of the nested object `key` with `read(object, memberName)`, in order;
    /// `[]` when `key` is absent.
    /// - Throws: ``JobError`` when `key` is not an object, or what `read` throws.
    public func eachMember<T>(of key: String, _ read: (JobParameters, String) throws -> T) throws -> [(String, T)] {
        guard let nested = try optionalObject(key) else { return [] }
        return try nested.object.keys.map { ($0, try read(nested, $0)) }
    }
}
