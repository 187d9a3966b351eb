/// A failure of Celeriac itself (not of a task, which is a ``TaskFailure``, and not of Redis, which
/// is a `RedisClientError`/`RedisServerError`).
public struct CeleriacError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of named values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// A wait ended before the task was ready.
        public static let timeout = Code("timeout")
        /// A value could not be converted to or from the JSON Celery uses.
        public static let encoding = Code("encoding")
        /// A setting or option is invalid.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// A canvas (chain, group, chord) cannot be built as given.
        public static let invalidCanvas = Code("invalidCanvas")
        /// A message is larger than the maximum message size.
        public static let messageTooLarge = Code("messageTooLarge")
    }

    /// What went wrong.
    public let code: Code
    /// A message a person can act on.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
