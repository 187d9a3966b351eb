/// What applying a canvas publishes, worked out before anything is sent: the chord sizes to
/// write to the result backend first, then the task messages, and the shape of the results.
public struct CanvasPlan: Sendable {
    /// A chord's expected number of header results (`celery-taskset-meta-<group id>.s`).
    public struct ChordSize: Sendable, Hashable {
        /// The chord's group id.
        public var groupID: String
        /// The number of header results that complete it.
        public var size: Int

        /// A chord of `size` header results under `groupID`.
        public init(groupID: String, size: Int) {
            self.groupID = groupID
            self.size = size
        }
    }

    /// Chords to size before any message is published (a header task that finishes before its
    /// chord's size exists could not complete it).
    public var chordSizes: [ChordSize] = []
    /// The messages to publish, in order.
    public var messages: [TaskMessage] = []
    /// The results the canvas produces.
    public var result: Node = .task("")

    /// The shape of a canvas' results.
    public indirect enum Node: Sendable, Hashable {
        /// One task's result (a chain's last step).
        case task(String)
        /// A group's results, in order.
        case group(id: String, members: [Node])
        /// A chord: the body's result, with its header group.
        case chord(body: String, header: Node)

        /// The id to wait on: the task, the group id, the chord body.
        public var id: String {
            switch self {
            case .task(let id): return id
            case .group(let id, _): return id
            case .chord(let body, _): return body
            }
        }
    }
}

extension CanvasPlan {
    /// Works out what applying `canvas` publishes, as a producer with node name `origin` and
    /// reply oid `replyTo` would (``CeleriacApp/apply(_:args:kwargs:)`` publishes it).
    /// - Parameters:
    ///   - args: added in front of the first task's arguments (every member's, for a group or
    ///     a chord header), unless it is immutable.
    ///   - kwargs: merged over them.
    /// - Throws: ``CeleriacError`` `invalidCanvas` for a canvas Celeriac cannot apply.
    public init(
        applying canvas: some CanvasConvertible, args: [JSONValue] = [], kwargs: JSONObject = [:], origin: String,
        replyTo: String
    ) throws {
        self = try CanvasBuilder.plan(canvas.signature, args: args, kwargs: kwargs, origin: origin, replyTo: replyTo)
    }
}
