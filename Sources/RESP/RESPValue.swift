/// One Redis reply, copied out of hiredis into an owned Swift value.
///
/// RESP2 has five reply kinds; `RESPValue` has one case for each, with a nil bulk string and a
/// nil array both mapped to ``null`` (hiredis does not tell them apart either). Arrays nest.
public enum RESPValue: Sendable, Hashable {
    /// A status reply such as `+OK` or `+QUEUED`.
    case simpleString(String)
    /// An error reply such as `-WRONGTYPE Operation against a key ...`. Top-level error replies are
    /// thrown as ``RedisServerError`` by the connection; this case appears inside arrays (EXEC) and
    /// in pipeline results, where one failing command must not hide the replies of the others.
    case error(RedisServerError)
    /// An integer reply such as `:42`.
    case integer(Int)
    /// A bulk string: arbitrary bytes, binary-safe.
    case bulkString([UInt8])
    /// A nil bulk string (`$-1`) or nil array (`*-1`), e.g. `GET` of a missing key or a timed out `BRPOP`.
    case null
    /// A (possibly nested) array of replies.
    case array([RESPValue])
}

extension RESPValue {
    /// The text of a bulk or simple string decoded as UTF-8 (invalid sequences repaired), else `nil`.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The bytes of a bulk or simple string, else `nil`.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return Array(text.utf8)
        default: return nil
        }
    }

    /// The value of an integer reply, or of a bulk string holding a decimal integer, else `nil`.
    public var int: Int? {
        switch self {
        case .integer(let value): return value
        case .bulkString(let bytes): return Int(String(decoding: bytes, as: UTF8.self))
        default: return nil
        }
    }

    /// The elements of an array reply, else `nil`.
    public var array: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Whether this is the nil reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The server error carried by an error reply, else `nil`.
    public var serverError: RedisServerError? {
        if case .error(let error) = self { return error }
        return nil
    }

    /// Decodes this reply as `T`.
    /// - Throws: ``RedisServerError`` when the reply is an error reply; ``RedisClientError`` with
    ///   code ``RedisClientError/Code/unexpectedReply`` when it has another shape than `T` needs.
    public func decode<T: RESPDecodable>(as type: T.Type = T.self) throws -> T {
        try T(fromRESP: self)
    }

    /// A short name of the reply kind, for error messages.
    var kindDescription: String {
        switch self {
        case .simpleString: return "simple string"
        case .error: return "error"
        case .integer: return "integer"
        case .bulkString: return "bulk string"
        case .null: return "null"
        case .array: return "array"
        }
    }
}

extension RESPValue: CustomStringConvertible {
    /// A readable rendering like `redis-cli`'s, with long bulk strings shortened.
    public var description: String {
        switch self {
        case .simpleString(let text): return Self.shortened(text).debugDescription
        case .error(let error): return "(error) \(Self.shortened(error.message).debugDescription)"
        case .integer(let value): return "(integer) \(value)"
        case .bulkString(let bytes):
            let shown = bytes.prefix(200)
            let text = String(decoding: shown, as: UTF8.self).debugDescription
            return bytes.count > shown.count ? "\(text)… (\(bytes.count) bytes)" : text
        case .null: return "(nil)"
        case .array(let elements):
            // Error messages quote replies: a 10-million-element array must not become their text.
            let shown = elements.prefix(8).map(\.description).joined(separator: ", ")
            return elements.count > 8 ? "[\(shown), … (\(elements.count) elements)]" : "[\(shown)]"
        }
    }

    private static func shortened(_ text: String) -> String {
        text.count > 200 ? String(text.prefix(200)) + "…" : text
    }
}
