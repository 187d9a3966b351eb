import Foundation

/// A task call to make later (Celery's signature): name, partial arguments and `apply_async`
/// options, serialised as Celery's signature dict. Callbacks (`link`), errbacks (`link_error`),
/// chain steps and the parts of groups and chords travel in messages in this form.
///
/// ```swift
/// let add = Signature(task: "celeriac.examples.add", args: [2])        // add.s(2)
/// let step = add.immutable(true)                                        // add.si(2)
/// let flow = Signature.chain(add.clone(adding: [1]), add, add)          // chain(add.s(1, 2), add.s(2), add.s(2))
/// let total = try await app.apply(flow).get(timeout: .seconds(10))
/// ```
public struct Signature: Sendable, Hashable, CanvasConvertible {
    /// The task name (`celery.chain`, `celery.group`, `celery.chord` for composites).
    public var task: String
    /// Partial positional arguments.
    public var args: [JSONValue]
    /// Partial keyword arguments; for composites `{"tasks": [...]}` or `{"header", "body", "kwargs"}`.
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

    /// Itself: a signature is the canvas it describes.
    public var signature: Signature { self }

    /// Celery's signature dict, keys in Celery's order.
    public var jsonValue: JSONValue {
        [
            "task": .string(task), "args": .array(args), "kwargs": .object(kwargs), "options": .object(options),
            "subtask_type": subtaskType.map(JSONValue.string) ?? .null, "immutable": .bool(immutable),
        ]
    }

    /// The pre-assigned task id (`options.task_id`), set once the signature is frozen.
    public var id: String? { options["task_id"]?.stringValue }

    // MARK: - Building

    /// A copy with `extraArgs` added in front of its own (Celery's partial application,
    /// `sig.clone(args)`) and `extraKwargs` merged over its own. An immutable signature is
    /// returned unchanged.
    public func clone(adding extraArgs: [JSONValue], kwargs extraKwargs: JSONObject = [:]) -> Signature {
        var copy = self
        (copy.args, copy.kwargs) = arguments(adding: extraArgs, extraKwargs)
        return copy
    }

    /// A copy that ignores the arguments given when it is applied (`true`, Celery's `.si()`), or
    /// takes them (`false`).
    public func immutable(_ isImmutable: Bool) -> Signature {
        var copy = self
        copy.immutable = isImmutable
        return copy
    }

    /// A copy with more `apply_async` options (Celery's `sig.set(...)`), e.g.
    /// `["queue": "reports", "countdown": 10, "priority": 3]`.
    public func setting(_ extraOptions: JSONObject) -> Signature {
        var copy = self
        for (key, value) in extraOptions { copy.options[key] = value }
        return copy
    }

    /// A copy that applies `callback` with this task's result on success (Celery's `link`).
    public func link(_ callback: some CanvasConvertible) -> Signature {
        appending(callback.signature, to: "link")
    }

    /// A copy that applies `errback` with this task's id on failure (Celery's `link_error` /
    /// `on_error`). On a chain it reaches every step.
    public func onError(_ errback: some CanvasConvertible) -> Signature {
        appending(errback.signature, to: "link_error")
    }

    private func appending(_ signature: Signature, to option: String) -> Signature {
        var copy = self
        copy.options[option] = .array(Self.signatureList(options[option]) + [signature.jsonValue])
        return copy
    }

    /// The arguments when applied with `extraArgs`/`extraKwargs`: new args first, then the
    /// signature's own (none added when immutable); kwargs merged over the signature's.
    public func arguments(adding extraArgs: [JSONValue] = [], _ extraKwargs: JSONObject = [:]) -> ([JSONValue], JSONObject) {
        guard !immutable else { return (args, kwargs) }
        var merged = kwargs
        for (key, value) in extraKwargs { merged[key] = value }
        return (extraArgs + args, merged)
    }

    // MARK: - Composites

    /// Celery's `chain(a, b, c)`: each step's result is the first argument of the next (unless
    /// the next is immutable). A group followed by another step becomes a chord, as in Celery.
    public static func chain(_ steps: [any CanvasConvertible]) -> Signature {
        Signature(
            task: "celery.chain", kwargs: ["tasks": .array(steps.map(\.signature.jsonValue))], subtaskType: "chain")
    }

    /// Celery's `chain(a, b, c)`.
    public static func chain(_ steps: any CanvasConvertible...) -> Signature { chain(steps) }

    /// Celery's `group(a, b, c)`: the tasks run in parallel under one group id.
    public static func group(_ tasks: [any CanvasConvertible]) -> Signature {
        Signature(
            task: "celery.group", kwargs: ["tasks": .array(tasks.map(\.signature.jsonValue))], subtaskType: "group")
    }

    /// Celery's `group(a, b, c)`.
    public static func group(_ tasks: any CanvasConvertible...) -> Signature { group(tasks) }

    /// Celery's `chord(header, body)`: the body runs once, with the list of the header tasks'
    /// results (in header order) as its first argument, after all of them succeeded.
    public static func chord(_ header: [any CanvasConvertible], body: some CanvasConvertible) -> Signature {
        Signature(
            task: "celery.chord",
            kwargs: ["kwargs": [:], "header": .array(header.map(\.signature.jsonValue)), "body": body.signature.jsonValue],
            subtaskType: "chord")
    }

    /// Celery's `task.map(items)`: one message for the built-in `celery.map`, which calls this
    /// task once per item (`task(item)`) in one worker and returns the list of results.
    public func map(_ items: [JSONValue]) -> Signature {
        Signature(
            task: "celery.map", kwargs: ["task": jsonValue, "it": .array(items)], options: options, immutable: true)
    }

    /// Celery's `task.starmap(items)`: like ``map(_:)`` with each item an argument list
    /// (`task(*item)`), run by the built-in `celery.starmap`.
    public func starmap(_ items: [[JSONValue]]) -> Signature {
        Signature(
            task: "celery.starmap", kwargs: ["task": jsonValue, "it": .array(items.map(JSONValue.array))],
            options: options, immutable: true)
    }

    /// Celery's `task.chunks(items, n)`: a group of ``starmap(_:)`` calls over slices of `size`
    /// items, so many small calls travel as a few messages.
    /// - Precondition: `size` > 0 (a smaller size is taken as 1).
    public func chunks(_ items: [[JSONValue]], size: Int) -> Signature {
        let size = max(1, size)
        let slices = stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
        return .group(slices.map { starmap($0) })
    }

    // MARK: - Options as a message carries them

    /// The `apply_async` options of ``options`` that a message carries.
    /// - Throws: ``CeleryProtocolError`` `invalidValue` when `countdown`, `expires`, `time_limit`
    ///   or `soft_time_limit` is not a number of seconds in range (NaN, infinite, `1e300`), or
    ///   `eta` / `expires` is text that is not a timestamp: a signature read from a message may
    ///   come from any producer.
    public var taskOptions: TaskOptions {
        get throws {
            var result = TaskOptions()
            result.taskID = options["task_id"]?.stringValue
            result.queue = options["queue"]?.stringValue ?? options["routing_key"]?.stringValue
            result.priority = options["priority"]?.intValue
            if let countdown = number("countdown") {
                result.countdown = try Self.checked(countdown, "countdown", OutsideNumber.countdown(seconds:))
            }
            if let eta = options["eta"]?.stringValue { result.eta = try Self.timestamp(eta, "eta") }
            if let seconds = number("expires") {
                result.expires = .after(try Self.checked(seconds, "expires", OutsideNumber.countdown(seconds:)))
            } else if let date = options["expires"]?.stringValue {
                result.expires = .at(try Self.timestamp(date, "expires"))
            }
            if let limit = number("time_limit") {
                result.timeLimit = try Self.checked(limit, "time_limit", OutsideNumber.duration(seconds:))
            }
            if let limit = number("soft_time_limit") {
                result.softTimeLimit = try Self.checked(limit, "soft_time_limit", OutsideNumber.duration(seconds:))
            }
            result.ignoreResult = options["ignore_result"]?.boolValue
            result.shadow = options["shadow"]?.stringValue
            result.link = Self.signatureList(options["link"])
            result.linkError = Self.signatureList(options["link_error"])
            result.groupID = options["group_id"]?.stringValue
            result.groupIndex = options["group_index"]?.intValue
            result.rootID = options["root_id"]?.stringValue
            result.parentID = options["parent_id"]?.stringValue
            if let headers = options["headers"]?.objectValue { result.headers = headers }
            return result
        }
    }

    private func number(_ name: String) -> Double? { options[name]?.doubleValue }

    private static func checked(_ seconds: Double, _ name: String, _ convert: (Double) -> Duration?) throws -> Duration {
        guard let duration = convert(seconds) else {
            throw TaskMessage.invalid("options.\(name)", .double(seconds), TaskMessage.secondsRange)
        }
        return duration
    }

    private static func timestamp(_ text: String, _ name: String) throws -> Date {
        do { return try CeleryTimestamp.parse(text) } catch {
            throw TaskMessage.invalid("options.\(name)", .string(text), "an ISO 8601 timestamp")
        }
    }

    /// `link` may be one signature or a list of them.
    static func signatureList(_ value: JSONValue?) -> [JSONValue] {
        switch value {
        case .array(let list)?: return list
        case .object(let signature)?: return [.object(signature)]
        default: return []
        }
    }
}

/// Anything that describes a canvas: a ``Signature`` itself, or a typed wrapper around one.
public protocol CanvasConvertible: Sendable {
    /// The signature dict Celery sends for it.
    var signature: Signature { get }
}

extension Signature {
    /// A signature for a typed task with all its arguments (`Add.s(x: 2, y: 3)`): arguments that
    /// encode to an object become kwargs, an array becomes args.
    /// - Throws: ``CeleriacError`` `encoding` when the arguments do not encode to JSON.
    public init<Definition: CeleriacTask>(_ task: Definition.Type, _ arguments: Definition.Arguments) throws {
        let (args, kwargs) = try CeleriacApp.callArguments(arguments, of: task)
        self.init(task: Definition.name, args: args, kwargs: kwargs)
    }

    /// A partial signature for a typed task (`Add.s(10)`), e.g. a chain step that takes the
    /// previous result as its first argument (matched to ``CeleriacTask/argumentNames``).
    public init<Definition: CeleriacTask>(_ task: Definition.Type, args: [JSONValue] = [], kwargs: JSONObject = [:]) {
        self.init(task: Definition.name, args: args, kwargs: kwargs)
    }
}
