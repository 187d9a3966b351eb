/// A failure on the client side: the request did not get an answer from the server.
///
/// Connection refused, closed, reset or timed out; a malformed URL; a reply of an unexpected shape.
/// The message is meant for people and never contains a password. Switch on ``code``, an open set of
/// values: new codes may be added without breaking callers.
public struct RedisClientError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an extensible set of named values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The connection URL or configuration is malformed; the message names the part that is wrong.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// The TCP or unix-socket connection could not be established (refused, unreachable, no such file).
        public static let connectionFailed = Code("connectionFailed")
        /// The connection was closed or reset, or was already unusable when the command was issued.
        public static let connectionClosed = Code("connectionClosed")
        /// No reply within the connect or command timeout. The connection is closed afterwards,
        /// because a late reply would otherwise be read as the answer to the next command.
        public static let timeout = Code("timeout")
        /// The server rejected the credentials (AUTH) or requires some.
        public static let authenticationFailed = Code("authenticationFailed")
        /// The server sent bytes that are not valid RESP.
        public static let protocolError = Code("protocolError")
        /// The reply has a different shape than the caller asked for.
        public static let unexpectedReply = Code("unexpectedReply")
        /// `MULTI`/`EXEC` was aborted because a watched key changed (`EXEC` returned nil).
        public static let transactionAborted = Code("transactionAborted")
        /// The pool or subscriber was closed by its owner.
        public static let closed = Code("closed")
        /// No pooled connection became free within the pool's acquire timeout.
        public static let poolExhausted = Code("poolExhausted")
    }

    /// What went wrong.
    public let code: Code
    /// A message a person can act on. Never contains credentials.
    public let message: String
    /// The server's error, when the failure was caused by one (e.g. `WRONGPASS` during AUTH).
    public let serverError: RedisServerError?

    /// Creates an error.
    public init(_ code: Code, _ message: String, serverError: RedisServerError? = nil) {
        self.code = code
        self.message = message
        self.serverError = serverError
    }

    public var description: String { message }

    /// Whether retrying on a new connection may succeed: connection-level failures and timeouts.
    public var isConnectionError: Bool {
        code == .connectionFailed || code == .connectionClosed || code == .timeout
    }
}
