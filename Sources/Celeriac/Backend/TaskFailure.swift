/// A task's exception as Celery stores it (`exc_type`, `exc_message`, `exc_module`), thrown to Swift
/// callers waiting on a failed, revoked or retried task.
///
/// Python raises `ValueError("boom")` → `TaskFailure(type: "ValueError", module: "builtins",
/// arguments: ["boom"])`; a revoked task gives `TaskRevokedError` from `celery.exceptions`.
public struct TaskFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The exception's class name, e.g. `ValueError`, `NotRegistered`.
    public var type: String
    /// The module that defines it, e.g. `builtins`, `celery.exceptions`.
    public var module: String
    /// The exception's arguments (Python's `exc.args`).
    public var arguments: [JSONValue]
    /// The traceback text, when the worker stored one.
    public var traceback: String?

    /// Creates a failure.
    public init(type: String, module: String = "builtins", arguments: [JSONValue], traceback: String? = nil) {
        self.type = type
        self.module = module
        self.arguments = arguments
        self.traceback = traceback
    }

    /// Creates a failure with one message argument, as most exceptions have.
    public init(type: String, module: String = "builtins", message: String, traceback: String? = nil) {
        self.init(type: type, module: module, arguments: [.string(message)], traceback: traceback)
    }

    /// Reads Celery's `{"exc_type", "exc_message", "exc_module"}`; `nil` if `value` is not one.
    public init?(storedValue value: JSONValue, traceback: String? = nil) {
        guard let type = value["exc_type"]?.stringValue else { return nil }
        self.type = type
        self.module = value["exc_module"]?.stringValue ?? "builtins"
        switch value["exc_message"] {
        case .array(let arguments)?: self.arguments = arguments
        case let single?: self.arguments = [single]
        case nil: self.arguments = []
        }
        self.traceback = traceback
    }

    /// The stored form: `{"exc_type": ..., "exc_message": [...], "exc_module": ...}`.
    public var storedValue: JSONValue {
        ["exc_type": .string(type), "exc_message": .array(arguments), "exc_module": .string(module)]
    }

    /// The message: the single string argument, or the arguments as Python would print them.
    public var message: String {
        if arguments.count == 1, let text = arguments[0].stringValue { return text }
        return arguments.isEmpty ? "" : JSONValue.array(arguments).pythonRepr
    }

    /// Python's repr, e.g. `ValueError('boom')`, `CaptureError('custom failure', 42)`.
    public var description: String {
        "\(type)(" + arguments.map(\.pythonRepr).joined(separator: ", ") + ")"
    }
}
