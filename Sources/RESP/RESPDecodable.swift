/// A type that can be built from a ``RESPValue``.
///
/// Conformances for `RESPValue`, `String`, `[UInt8]`, `Int`, `Double`, `Bool`, `Optional` (nil maps to
/// `nil`) and `Array` make typed command helpers one line each.
public protocol RESPDecodable {
    /// Builds the value from a reply.
    /// - Throws: ``RedisServerError`` for error replies, ``RedisClientError`` with code
    ///   ``RedisClientError/Code/unexpectedReply`` for replies of the wrong shape.
    init(fromRESP value: RESPValue) throws
}

extension RedisClientError {
    /// The error for a reply of another shape than `expected` (e.g. "[key, value]").
    public static func unexpectedReply(_ value: RESPValue, expected: String) -> RedisClientError {
        RedisClientError(.unexpectedReply, "expected \(expected), got \(value.kindDescription) \(value)")
    }
}

extension RESPValue: RESPDecodable {
    /// Returns the reply itself; throws ``RedisServerError`` only for an error reply.
    public init(fromRESP value: RESPValue) throws {
        if case .error(let error) = value { throw error }
        self = value
    }
}

extension String: RESPDecodable {
    /// Decodes a bulk or simple string as UTF-8, or an integer as its decimal text.
    public init(fromRESP value: RESPValue) throws {
        switch value {
        case .simpleString, .bulkString: self = value.string ?? ""
        case .integer(let number): self = String(number)
        case .error(let error): throw error
        default: throw RedisClientError.unexpectedReply(value, expected: "a string")
        }
    }
}

extension Array: RESPDecodable where Element: RESPDecodable {
    /// Decodes an array reply element by element. A `[UInt8]` decodes from a bulk string instead.
    public init(fromRESP value: RESPValue) throws {
        if Element.self == UInt8.self, let bytes = value.bytes {
            // Bulk strings decode to [UInt8]; the cast always succeeds inside this branch.
            self = bytes as? [Element] ?? []
            return
        }
        switch value {
        case .array(let elements): self = try elements.map { try Element(fromRESP: $0) }
        case .error(let error): throw error
        default: throw RedisClientError.unexpectedReply(value, expected: "an array")
        }
    }
}

extension UInt8: RESPDecodable {
    /// Decodes an integer reply in 0...255 (only useful as the element of `[UInt8]`).
    public init(fromRESP value: RESPValue) throws {
        guard let number = value.int, let byte = UInt8(exactly: number) else {
            throw RedisClientError.unexpectedReply(value, expected: "a byte")
        }
        self = byte
    }
}

extension Int: RESPDecodable {
    /// Decodes an integer reply, or a bulk string holding a decimal integer.
    public init(fromRESP value: RESPValue) throws {
        if case .error(let error) = value { throw error }
        guard let number = value.int else { throw RedisClientError.unexpectedReply(value, expected: "an integer") }
        self = number
    }
}

extension Double: RESPDecodable {
    /// Decodes a bulk string holding a number (as `ZSCORE` returns), or an integer reply.
    public init(fromRESP value: RESPValue) throws {
        switch value {
        case .integer(let number): self = Double(number)
        case .bulkString, .simpleString:
            guard let text = value.string, let number = Double(text) else {
                throw RedisClientError.unexpectedReply(value, expected: "a number")
            }
            self = number
        case .error(let error): throw error
        default: throw RedisClientError.unexpectedReply(value, expected: "a number")
        }
    }
}

extension Bool: RESPDecodable {
    /// Decodes the integer replies `0`/`1` and the status `OK` (true).
    public init(fromRESP value: RESPValue) throws {
        switch value {
        case .integer(let number): self = number != 0
        case .simpleString(let text) where text == "OK": self = true
        case .error(let error): throw error
        default: throw RedisClientError.unexpectedReply(value, expected: "a boolean (0/1)")
        }
    }
}

extension Optional: RESPDecodable where Wrapped: RESPDecodable {
    /// Decodes the nil reply as `nil`, anything else as `Wrapped`.
    public init(fromRESP value: RESPValue) throws {
        if case .null = value {
            self = .none
        } else {
            self = .some(try Wrapped(fromRESP: value))
        }
    }
}
