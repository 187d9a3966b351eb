/// A message or stored value that does not follow the Celery protocol (bad JSON, bad base64, a
/// missing header, an unsupported serializer). The message says what and where; the raw input
/// is never silently dropped by callers (the worker dead-letters it).
public struct CeleryProtocolError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem, as an extensible set of named values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The bytes are not valid JSON.
        public static let invalidJSON = Code("invalidJSON")
        /// The body is not valid base64.
        public static let invalidBase64 = Code("invalidBase64")
        /// A required field is missing or has the wrong type.
        public static let missingField = Code("missingField")
        /// The content type or encoding is not JSON in UTF-8 (e.g. pickle).
        public static let unsupportedContentType = Code("unsupportedContentType")
        /// A Celery task protocol 1 message Celeriac cannot read faithfully (local times, `utc: false`).
        public static let unsupportedProtocol = Code("unsupportedProtocol")
        /// A header or option holds a value out of its range (a time limit of `1e17` seconds, a
        /// negative `retries`, a malformed `eta`): refused rather than run on a guess.
        public static let invalidValue = Code("invalidValue")
    }

    /// What kind of problem.
    public let code: Code
    /// What is wrong and where, for logs and dead-letter entries.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
