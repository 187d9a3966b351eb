import Foundation

/// One entry of the dead-letter list (``ConsumerKeys/deadLetter``): a message a worker could not
/// run, kept with the reason so that nothing is silently dropped. `celeriac dead` lists, retries
/// and drops them.
public struct DeadLetterEntry: Sendable, Hashable {
    /// Why the message could not be run, e.g. `NotRegistered: celeriac.examples.nope`.
    public var reason: String
    /// The queue it was taken from.
    public var queue: String?
    /// The original envelope bytes.
    public var message: [UInt8]
    /// The worker that gave up on it.
    public var worker: String
    /// The task id, when it could be read.
    public var taskID: String?
    /// The task name, when it could be read.
    public var taskName: String?
    /// When it was dead-lettered.
    public var time: Date

    /// Creates an entry.
    public init(
        reason: String, queue: String?, message: [UInt8], worker: String, taskID: String? = nil,
        taskName: String? = nil, time: Date = Date()
    ) {
        self.reason = reason
        self.queue = queue
        self.message = message
        self.worker = worker
        self.taskID = taskID
        self.taskName = taskName
        self.time = time
    }

    /// Reads an entry as stored (by a worker or by the fetch script).
    /// - Throws: ``CeleryProtocolError`` when it is not an object with `reason` and `message`.
    public init(decoding bytes: [UInt8]) throws {
        guard case .object(let object) = try JSONValue(parsing: bytes), let reason = object["reason"]?.stringValue,
            let message = object["message"]?.stringValue
        else { throw CeleryProtocolError(.missingField, "the dead-letter entry has no 'reason' and 'message'") }
        self.init(
            reason: reason, queue: object["queue"]?.stringValue, message: Array(message.utf8),
            worker: object["worker"]?.stringValue ?? "", taskID: object["task_id"]?.stringValue,
            taskName: object["task"]?.stringValue,
            time: Date(timeIntervalSince1970: object["time"]?.doubleValue ?? 0))
    }

    /// The stored JSON object.
    public func encoded() -> [UInt8] {
        var object: JSONObject = ["reason": .string(reason)]
        object["queue"] = queue.map(JSONValue.string) ?? .null
        object["task_id"] = taskID.map(JSONValue.string) ?? .null
        object["task"] = taskName.map(JSONValue.string) ?? .null
        object["worker"] = .string(worker)
        object["time"] = .double(time.timeIntervalSince1970)
        object["message"] = .string(String(decoding: message, as: UTF8.self))
        return JSONValue.object(object).serialized()
    }
}
