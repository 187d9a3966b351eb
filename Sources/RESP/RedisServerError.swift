/// An error reply from the Redis server: the server understood the request and said no.
///
/// `WRONGTYPE`, `NOSCRIPT`, `NOAUTH`, `WRONGPASS`, `EXECABORT`, `ERR ...` all arrive as this type.
/// The connection that received it stays usable. Compare ``code`` to react to a specific error.
public struct RedisServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The full text the server sent, e.g. `WRONGTYPE Operation against a key holding the wrong kind of value`.
    public let message: String

    /// Creates an error from the server's text.
    public init(message: String) {
        self.message = message
    }

    /// The error code: the first word of ``message`` when it is upper case (`WRONGTYPE`, `NOSCRIPT`,
    /// `ERR`), else `ERR`.
    public var code: String {
        let firstWord = message.prefix { $0 != " " }
        let isCode = !firstWord.isEmpty && firstWord.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" }
        return isCode ? String(firstWord) : "ERR"
    }

    /// Whether the server refused only for now and the same command may succeed later: `LOADING`
    /// (restarted, still reading its data), `BUSY` (a script runs too long), `MASTERDOWN` (a
    /// replica lost its master), `TRYAGAIN` (a cluster slot is moving).
    public var isTransient: Bool {
        Self.transientCodes.contains(code)
    }

    private static let transientCodes: Set<String> = ["LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN"]

    public var description: String { "Redis error: \(message)" }
}
