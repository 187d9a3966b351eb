import Foundation
import Synchronization

/// A task a worker can run: its name, settings and handler.
public struct RegisteredTask: Sendable {
    /// The Celery task name.
    public let name: String
    /// How the worker runs it.
    public var settings: TaskSettings
    /// Runs the task on JSON-level arguments and returns the JSON result.
    let handler: @Sendable (_ args: [JSONValue], _ kwargs: JSONObject, _ context: TaskContext) async throws -> JSONValue
}

/// Why a task could not be registered.
public enum TaskRegistryError: Error, Equatable, CustomStringConvertible {
    /// A task of this name is registered already.
    case alreadyRegistered(String)

    public var description: String {
        switch self {
        case .alreadyRegistered(let name):
            "a task named '\(name)' is registered already: one name runs one handler (change its settings with updateSettings(of:))"
        }
    }
}

/// The tasks a worker knows, by name. Register everything before the worker starts; unknown
/// names are dead-lettered and fail with `NotRegistered`, as in Celery. Each name is registered
/// once: a second registration is an error, not a silent replacement.
///
/// ```swift
/// let registry = TaskRegistry()
/// try registry.register(Add.self) { arguments, _ in arguments.x + arguments.y }
/// try registry.register("reports.build", settings: TaskSettings(acksLate: true)) { args, kwargs, context in
///     try await buildReport(args, kwargs)
/// }
/// ```
public final class TaskRegistry: Sendable {
    private let tasks = Mutex<[String: RegisteredTask]>([:])

    /// An empty registry.
    public init() {}

    /// Registers a task working on JSON arguments (Celery's `args` and `kwargs`) and returning a
    /// JSON result.
    /// - Throws: ``TaskRegistryError/alreadyRegistered(_:)`` when `name` is registered already.
    public func register(
        _ name: String, settings: TaskSettings = TaskSettings(),
        _ handler:
            @escaping @Sendable (_ args: [JSONValue], _ kwargs: JSONObject, _ context: TaskContext) async throws
            -> JSONValue
    ) throws {
        let added = tasks.withLock { tasks in
            guard tasks[name] == nil else { return false }
            tasks[name] = RegisteredTask(name: name, settings: settings, handler: handler)
            return true
        }
        guard added else { throw TaskRegistryError.alreadyRegistered(name) }
    }

    /// Registers a typed task under `Definition.name`. Its `Arguments` are decoded from the message's
    /// kwargs, with positional args matched to ``CeleriacTask/argumentNames`` first (so Python's
    /// `add.delay(2, 3)` and `add.delay(x=2, y=3)` both work); arguments that do not decode fail
    /// the task with `TypeError`, as a bad call does in Python.
    /// - Throws: ``TaskRegistryError/alreadyRegistered(_:)`` when the name is registered already.
    public func register<Definition: CeleriacTask>(
        _ task: Definition.Type, settings: TaskSettings = TaskSettings(),
        _ handler: @escaping @Sendable (Definition.Arguments, TaskContext) async throws -> Definition.Result
    ) throws where Definition.Arguments: Decodable, Definition.Result: Encodable {
        let name = Definition.name
        let argumentNames = Definition.argumentNames
        let typeName = "\(Definition.self)"
        try register(name, settings: settings) { args, kwargs, context in
            let bound = try Self.bind(args: args, kwargs: kwargs, names: argumentNames, task: name)
            let arguments: Definition.Arguments
            do {
                arguments = try JSONDecoder().decode(Definition.Arguments.self, from: Data(bound.serialized()))
            } catch let error as DecodingError {
                guard argumentNames.isEmpty, !args.isEmpty, kwargs.isEmpty else { throw TaskFailure(error: error) }
                // Positional args with no names to bind them to (e.g. a chord body given the
                // header's results): say what to declare, not only what failed to decode.
                let failure = TaskFailure(error: error)
                throw TaskFailure(
                    type: "TypeError",
                    message: "\(name)() got \(args.count) positional argument\(args.count == 1 ? "" : "s"), but "
                        + "\(typeName) declares no argumentNames to bind them to (declare "
                        + "`static let argumentNames = [...]` in Python's order, or send keyword arguments); "
                        + "read as one array they do not match: \(failure.message)")
            }
            return try JSONValue(encoding: try await handler(arguments, context))
        }
    }

    /// The task registered under `name`.
    public subscript(name: String) -> RegisteredTask? {
        tasks.withLock { $0[name] }
    }

    /// Every registered name, sorted.
    public var names: [String] {
        tasks.withLock { $0.keys.sorted() }
    }

    /// Changes a registered task's settings (e.g. the rate limit by remote control).
    /// - Returns: `false` when no task has that name.
    @discardableResult
    public func updateSettings(of name: String, _ change: (inout TaskSettings) -> Void) -> Bool {
        tasks.withLock { tasks in
            guard tasks[name] != nil else { return false }
            change(&tasks[name]!.settings)
            return true
        }
    }

    /// Celery's call arguments as one JSON value for a typed task: positional args are given the
    /// names in `names` and merged with `kwargs` into an object. Without names, args alone are an
    /// array and kwargs an object.
    /// - Throws: ``TaskFailure`` `TypeError` for too many positional arguments or an argument
    ///   given twice, with Python's wording.
    static func bind(args: [JSONValue], kwargs: JSONObject, names: [String], task: String) throws -> JSONValue {
        if names.isEmpty {
            return !args.isEmpty && kwargs.isEmpty ? .array(args) : .object(kwargs)
        }
        guard args.count <= names.count else {
            throw TaskFailure(
                type: "TypeError",
                message: "\(task)() takes \(names.count) positional arguments but \(args.count) were given")
        }
        var object = JSONObject()
        for (name, value) in zip(names, args) { object[name] = value }
        for (key, value) in kwargs {
            guard object[key] == nil else {
                throw TaskFailure(type: "TypeError", message: "\(task)() got multiple values for argument '\(key)'")
            }
            object[key] = value
        }
        return .object(object)
    }
}
