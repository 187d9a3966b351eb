import Foundation

/// How to send one task: Celery's `apply_async` options.
public struct TaskOptions: Sendable, Hashable {
    /// When a task expires: a time span from sending, or a point in time.
    public enum Expiry: Sendable, Hashable {
        case after(Duration)
        case at(Date)
    }

    /// The task id; a new UUID4 when `nil`.
    public var taskID: String?
    /// Run no earlier than this long after sending (`headers.eta`). Ignored when ``eta`` is set.
    public var countdown: Duration?
    /// Run no earlier than this time (`headers.eta`).
    public var eta: Date?
    /// Revoke instead of running after this (`headers.expires`, `properties.expiration`).
    public var expires: Expiry?
    /// The queue (routing key on exchange `""`); `celery` when `nil`.
    public var queue: String?
    /// 0-9, 0 served first on Redis; clamped.
    public var priority: Int?
    /// `true`: no result is stored. `nil` leaves it to the worker's task setting (as `send_task`).
    public var ignoreResult: Bool?
    /// Hard time limit (`headers.timelimit[0]`, in seconds on the wire).
    public var timeLimit: Duration?
    /// Soft time limit (`headers.timelimit[1]`, in seconds on the wire).
    public var softTimeLimit: Duration?
    /// Another name for logs and events (`headers.shadow`).
    public var shadow: String?
    /// Extra headers, merged at the top level of `headers` as Celery does.
    public var headers: JSONObject
    /// Signatures to apply with the result on success (`embed.callbacks`).
    public var link: [JSONValue]
    /// Signatures to apply on failure (`embed.errbacks`).
    public var linkError: [JSONValue]
    /// Workflow bookkeeping set by canvases and retries.
    public var rootID: String?
    public var parentID: String?
    public var groupID: String?
    public var groupIndex: Int?
    public var retries: Int

    /// Options with everything unset (default queue, priority 0, no eta, no expiry).
    public init(
        taskID: String? = nil, countdown: Duration? = nil, eta: Date? = nil, expires: Expiry? = nil,
        queue: String? = nil, priority: Int? = nil, ignoreResult: Bool? = nil, timeLimit: Duration? = nil,
        softTimeLimit: Duration? = nil, shadow: String? = nil, headers: JSONObject = [:], link: [JSONValue] = [],
        linkError: [JSONValue] = [], rootID: String? = nil, parentID: String? = nil, groupID: String? = nil,
        groupIndex: Int? = nil, retries: Int = 0
    ) {
        self.taskID = taskID
        self.countdown = countdown
        self.eta = eta
        self.expires = expires
        self.queue = queue
        self.priority = priority
        self.ignoreResult = ignoreResult
        self.timeLimit = timeLimit
        self.softTimeLimit = softTimeLimit
        self.shadow = shadow
        self.headers = headers
        self.link = link
        self.linkError = linkError
        self.rootID = rootID
        self.parentID = parentID
        self.groupID = groupID
        self.groupIndex = groupIndex
        self.retries = retries
    }

    /// The queue used when none is given.
    public static let defaultQueue = "celery"
}
