/// A task with typed arguments and result, declared once and used by producers (and, later,
/// registered by workers under the same ``name``).
///
/// ```swift
/// enum Add: CeleriacTask {
///     static let name = "celeriac.examples.add"
///     struct Arguments: Codable, Sendable { var x: Int; var y: Int }
///     typealias Result = Int
/// }
/// let sum = try await app.send(Add.self, .init(x: 2, y: 3)).get()   // 5
/// ```
///
/// Arguments that encode to a JSON object are sent as keyword arguments (`add(x=2, y=3)` in
/// Python); arguments that encode to an array are sent as positional arguments. A worker
/// registers the same type with ``TaskRegistry/register(_:settings:_:)-(Definition.Type,_,_)``.
public protocol CeleriacTask {
    /// The arguments' type.
    associatedtype Arguments: Encodable & Sendable
    /// The result's type.
    associatedtype Result: Decodable & Sendable
    /// The Celery task name, e.g. `celeriac.examples.add`.
    static var name: String { get }
    /// The names of the arguments in Python's positional order (`["x", "y"]` for `add(x, y)`), so
    /// that a worker can accept positional args from Python callers. Empty by default: positional
    /// args are then decoded as a JSON array.
    static var argumentNames: [String] { get }
    /// Options every send of this task starts from (e.g. its queue and priority), under the
    /// options of the send itself and the app's ``CeleriacApp/routes`` (Celery's order:
    /// `apply_async` arguments, then `task_routes`, then the task's attributes). None by default.
    static var defaultOptions: TaskOptions { get }
}

extension CeleriacTask {
    public static var argumentNames: [String] { [] }
    public static var defaultOptions: TaskOptions { TaskOptions() }
}
