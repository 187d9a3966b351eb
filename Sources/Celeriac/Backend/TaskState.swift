/// A task state as Celery stores it: the built-in ones and any custom state such as `PROGRESS`.
public struct TaskState: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    /// Unknown to the backend: not sent yet, or its result expired or was forgotten.
    public static let pending: TaskState = "PENDING"
    /// A worker received the message.
    public static let received: TaskState = "RECEIVED"
    /// A worker started it (only with `trackStarted`).
    public static let started: TaskState = "STARTED"
    /// It returned a value.
    public static let success: TaskState = "SUCCESS"
    /// It raised.
    public static let failure: TaskState = "FAILURE"
    /// It raised and will run again.
    public static let retry: TaskState = "RETRY"
    /// It was revoked (or expired) and will not run.
    public static let revoked: TaskState = "REVOKED"
    /// A worker rejected it.
    public static let rejected: TaskState = "REJECTED"

    /// Whether the task has finished for good: SUCCESS, FAILURE or REVOKED (Celery's `READY_STATES`).
    public var isReady: Bool { self == .success || self == .failure || self == .revoked }

    /// Whether the stored result is an exception (FAILURE, RETRY, REVOKED).
    public var carriesException: Bool { self == .failure || self == .retry || self == .revoked }
}
