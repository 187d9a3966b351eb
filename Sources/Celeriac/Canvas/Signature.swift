import Foundation

/// A task call to make later (Celery's signature): name, partial arguments and `apply_async`
/// options, serialised as Celery's signature dict. Callbacks (`link`), errbacks (`link_error`) and
/// the steps of a chain travel in messages in this form.
public struct Signature: Sendable, Hashable {
    /// The task name (`celery.chain`, `celery.group`, `celery.chord` for composites).
    public var task: String
    /// Partial positional arguments.
    public var args: [JSONValue]
    /// Partial keyword arguments.
    public var kwargs: JSONObject
    /// `apply_async` options (`task_id`, `queue`, `priority`, `countdown`, `link`, ...).
    public var options: JSONObject
    /// `nil` for a task; `chain`, `group` or `chord` for composites.
    public var subtaskType: String?
    /// `true` (Celery's `.si()`): arguments given when applying are not added.
    public var immutable: Bool

    /// Creates a signature.
    public init(
        task: String, args: [JSONValue] = [], kwargs: JSONObject = [:], options: JSONObject = [:],
        subtaskType: String? = nil, immutable: Bool = false
    ) {
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.subtaskType = subtaskType
        self.immutable = immutable
    }

    /// Reads Celery's signature dict.
    /// - Throws: ``CeleryProtocolError`` `missingField` when it is not an object with a `task`.
    public init(_ value: JSONValue) throws {
        guard case .object(let object) = value, let task = object["task"]?.stringValue else {
            throw CeleryProtocolError(.missingField, "a signature must be an object with a 'task' name")
        }
        self.init(
            task: task, args: object["args"]?.arrayValue ?? [], kwargs: object["kwargs"]?.objectValue ?? [:],
            options: object["options"]?.objectValue ?? [:], subtaskType: object["subtask_type"]?.stringValue,
            immutable: object["immutable"]?.boolValue ?? false)
    }

    /// Celery's signature dict, keys in Celery's order.
    public var jsonValue: JSONValue {
        [
            "task": .string(task), "args": .array(args), "kwargs": .object(kwargs), "options": .object(options),
            "subtask_type": subtaskType.map(JSONValue.string) ?? .null, "immutable": .bool(immutable),
        ]
    }

    /// The arguments when applied with `extraArgs`/`extraKwargs`: new args first, then the
    /// signature's own (none added when immutable); kwargs merged over the signature's.
    public func arguments(adding extraArgs: [JSONValue] = [], _ extraKwargs: JSONObject = [:]) -> ([JSONValue], JSONObject) {
        guard !immutable else { return (args, kwargs) }
        var merged = kwargs
        for (key, value) in extraKwargs { merged[key] = value }
        return (extraArgs + args, merged)
    }

    /// The `apply_async` options of ``options`` that a message carries.
    public var taskOptions: TaskOptions {
        var result = TaskOptions()
        result.taskID = options["task_id"]?.stringValue
        result.queue = options["queue"]?.stringValue ?? options["routing_key"]?.stringValue
        result.priority = options["priority"]?.intValue
        if let countdown = options["countdown"]?.doubleValue { result.countdown = .milliseconds(Int(countdown * 1000)) }
        if let eta = options["eta"]?.stringValue { result.eta = try? CeleryTimestamp.parse(eta) }
        if let seconds = options["expires"]?.doubleValue {
            result.expires = .after(.milliseconds(Int(seconds * 1000)))
        } else if let date = options["expires"]?.stringValue.flatMap({ try? CeleryTimestamp.parse($0) }) {
            result.expires = .at(date)
        }
        result.ignoreResult = options["ignore_result"]?.boolValue
        result.link = Self.signatureList(options["link"])
        result.linkError = Self.signatureList(options["link_error"])
        result.groupID = options["group_id"]?.stringValue
        result.groupIndex = options["group_index"]?.intValue
        result.rootID = options["root_id"]?.stringValue
        result.parentID = options["parent_id"]?.stringValue
        if let headers = options["headers"]?.objectValue { result.headers = headers }
        return result
    }

    /// `link` may be one signature or a list of them.
    private static func signatureList(_ value: JSONValue?) -> [JSONValue] {
        switch value {
        case .array(let list)?: return list
        case .object(let signature)?: return [.object(signature)]
        default: return []
        }
    }
}
