/// A JSON value as Celery puts it on the wire: task arguments, keyword arguments, results, headers.
///
/// Objects keep their key order (``JSONObject``), integers and floating-point numbers stay
/// distinct, and ``init(parsing:)`` / ``serialized()`` read and write the text the way Python's
/// `json` module does, so that messages Celeriac writes look like Celery's byte for byte.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in `Int`.
    case integer(Int)
    /// Any other number (Python's `float`; also integers too large for `Int`).
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue {
    /// Parses JSON text (UTF-8). Accepts what Python's `json.loads` accepts, including `NaN` and
    /// `Infinity`.
    /// - Throws: ``CeleryProtocolError`` with code `invalidJSON`, naming the byte offset.
    public init(parsing bytes: some Collection<UInt8>) throws {
        self = try JSONParser.parse(Array(bytes))
    }

    /// Parses JSON text; see ``init(parsing:)-(_)``.
    /// - Throws: ``CeleryProtocolError`` with code `invalidJSON`.
    public init(parsing text: String) throws {
        self = try JSONParser.parse(Array(text.utf8))
    }

    /// The JSON text as Python's `json.dumps` writes it: `", "` and `": "` separators, non-ASCII
    /// characters escaped as `\uXXXX`.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        JSONWriter.write(self, to: &output)
        return output
    }

    /// ``serialized()`` as a `String`.
    public var serializedString: String { String(decoding: serialized(), as: UTF8.self) }

    /// The value as Python's `repr` would show the equivalent Python object (`[1, 'two', None]`),
    /// which Celery puts in the `argsrepr`/`kwargsrepr` headers and task events.
    public var pythonRepr: String {
        var output = ""
        JSONWriter.writeRepr(self, to: &output)
        return output
    }
}

extension JSONValue {
    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, if this is an integer (or a double with an integral value that fits).
    public var intValue: Int? {
        switch self {
        case .integer(let value): return value
        case .double(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// The number as a `Double`, if this is a number.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The boolean, if this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The object, if this is an object.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// The member `key` of an object; `nil` for a missing key or a non-object.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements))
    }
}

extension JSONValue: CustomStringConvertible {
    /// The JSON text.
    public var description: String { serializedString }
}
