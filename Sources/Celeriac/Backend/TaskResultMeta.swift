import Foundation

/// The value stored under `celery-task-meta-<id>`: state, result or exception, traceback,
/// children, completion time, and (with `result_extended`) name, args, kwargs, worker, retries, queue.
///
/// Kept as an ordered JSON object, like ``TaskMessage``, so that values written by Celeriac look
/// like Celery's byte for byte and values read from Celery keep every field.
public struct TaskResultMeta: Sendable, Hashable {
    /// The stored object.
    public var fields: JSONObject

    /// Wraps a stored object.
    public init(fields: JSONObject) {
        self.fields = fields
    }

    /// Decodes a stored value.
    /// - Throws: ``CeleryProtocolError``: `invalidJSON`, or `missingField` when it is not an object
    ///   with a `status`.
    public init(decoding bytes: some Collection<UInt8>) throws {
        guard case .object(let object) = try JSONValue(parsing: bytes), object["status"]?.stringValue != nil else {
            throw CeleryProtocolError(.missingField, "the stored result is not an object with a 'status'")
        }
        self.init(fields: object)
    }

    /// Builds the value Celery's Redis backend stores for a state change.
    /// - Parameters:
    ///   - result: the return value (SUCCESS), the meta (custom states), or the exception's stored
    ///     form (FAILURE, RETRY, REVOKED; see ``TaskFailure/storedValue``).
    ///   - dateDone: set for ready states; Celery writes `null` for the others.
    ///   - extended: `result_extended` fields (`name`, `args`, `kwargs`, `worker`, `retries`, `queue`),
    ///     and canvas fields (`group_id`, `parent_id`), written before `task_id` in this order.
    public init(
        taskID: String, state: TaskState, result: JSONValue, traceback: String? = nil, children: [JSONValue] = [],
        dateDone: Date? = nil, extended: JSONObject = [:]
    ) {
        var fields: JSONObject = [
            "status": .string(state.rawValue),
            "result": result,
            "traceback": traceback.map(JSONValue.string) ?? .null,
            "children": .array(children),
            "date_done": dateDone.map { .string(CeleryTimestamp.format($0)) } ?? .null,
        ]
        for (key, value) in extended { fields[key] = value }
        fields["task_id"] = .string(taskID)
        self.init(fields: fields)
    }

    /// The bytes to store, as Celery writes them.
    public func encoded() -> [UInt8] {
        JSONValue.object(fields).serialized()
    }

    /// The task id.
    public var taskID: String { fields["task_id"]?.stringValue ?? "" }

    /// The state.
    public var state: TaskState { TaskState(rawValue: fields["status"]?.stringValue ?? TaskState.pending.rawValue) }

    /// The stored result: the return value, a custom state's meta, or an exception's stored form.
    public var result: JSONValue { fields["result"] ?? .null }

    /// The traceback text of a failure, if stored.
    public var traceback: String? { fields["traceback"]?.stringValue }

    /// When the task finished (`date_done`), for ready states.
    public var dateDone: Date? { fields["date_done"]?.stringValue.flatMap { try? CeleryTimestamp.parse($0) } }

    /// The exception of a FAILURE, RETRY or REVOKED state.
    public var failure: TaskFailure? {
        guard state.carriesException else { return nil }
        return TaskFailure(storedValue: result, traceback: traceback)
    }
}
