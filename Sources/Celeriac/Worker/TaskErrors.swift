import Foundation

/// An error that says how Celery should see it: the exception type and module stored in the
/// result, and raised by Python's `AsyncResult.get()`.
///
/// Conform your error types to pick a Python exception, e.g. `ValueError` in `builtins` for bad
/// input. Errors that do not conform are stored under their Swift type name in module `celeriac`.
public protocol CeleryExceptionConvertible: Error {
    /// The stored exception.
    var celeryException: TaskFailure { get }
}

extension TaskFailure: CeleryExceptionConvertible {
    public var celeryException: TaskFailure { self }
}

/// Thrown into a task (by ``TaskContext/checkCancellation()``) when its soft time limit passed,
/// like Celery's `SoftTimeLimitExceeded`. A task may catch it to clean up.
public struct SoftTimeLimitExceeded: Error, CeleryExceptionConvertible, Hashable {
    /// The limit that passed.
    public var limit: Duration

    public var celeryException: TaskFailure {
        TaskFailure(type: "SoftTimeLimitExceeded", module: "celery.exceptions", message: "soft time limit (\(limit)) exceeded")
    }
}

/// How many retries a retry request allows (Celery's `self.retry(max_retries=...)`): the task's
/// own ``TaskSettings/maxRetries``, a limit of its own, or none. An integer literal is a limit:
/// `context.retry(maxRetries: 5)`.
public enum RetryLimit: Sendable, Hashable, ExpressibleByIntegerLiteral {
    /// The task's ``TaskSettings/maxRetries``.
    case taskDefault
    /// At most this many retries.
    case limited(Int)
    /// Retries for ever (`max_retries=None`).
    case unlimited

    public init(integerLiteral value: Int) { self = .limited(value) }

    /// The limit in force for a task whose own limit is `taskLimit` (`nil`: none).
    public func resolved(taskLimit: Int?) -> Int? {
        switch self {
        case .taskDefault: taskLimit
        case .limited(let limit): limit
        case .unlimited: nil
        }
    }
}

/// The request to retry a task, made by ``TaskContext/retry(countdown:maxRetries:error:)``;
/// throw it from the task.
public struct TaskRetryRequest: Error, Sendable {
    /// The wait before the retry runs.
    public var countdown: Duration?
    /// The limit for this decision (the task's own by default).
    public var maxRetries: RetryLimit = .taskDefault
    /// Why: stored with the RETRY state, and as the failure when no retries are left.
    public var error: (any Error)?
}

extension TaskFailure {
    /// How Celery stores `error` thrown by a task: its own ``CeleryExceptionConvertible`` form;
    /// `TypeError` for arguments that did not decode (what Python raises for a bad call); else the
    /// Swift type name in module `celeriac` with the error's description.
    public init(error: any Error) {
        switch error {
        case let convertible as any CeleryExceptionConvertible:
            self = convertible.celeryException
        case let decoding as DecodingError:
            self.init(type: "TypeError", message: "the task's arguments do not match: \(Self.describe(decoding))")
        case is CancellationError:
            self.init(type: "TaskCancelled", module: "celeriac", message: "the task was cancelled")
        default:
            self.init(type: String(describing: Swift.type(of: error)), module: "celeriac", message: String(describing: error))
        }
    }

    /// A short text for the stored traceback: Swift has none to give.
    func tracebackText(task: String, id: String) -> String {
        "Traceback (most recent call last):\n  Celeriac task \(task)[\(id)]\n\(type): \(message)\n"
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "" : " at '\(keys.joined(separator: "."))'"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing argument '\(key.stringValue)'\(path(context))"
        case .typeMismatch(let type, let context): return "expected \(type)\(path(context))"
        case .valueNotFound(let type, let context): return "expected \(type), got null\(path(context))"
        case .dataCorrupted(let context): return context.debugDescription + path(context)
        @unknown default: return String(describing: error)
        }
    }
}
