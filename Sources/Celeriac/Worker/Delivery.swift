/// A task message a worker fetched and holds: decoded, with where it came from.
public struct Delivery: Sendable {
    /// The decoded message.
    public let message: TaskMessage
    /// The envelope bytes as fetched (what goes back to the queue on restore).
    public let raw: [UInt8]
    /// kombu's delivery tag: the message's key in `unacked`.
    public let deliveryTag: String
    /// The queue it was fetched from.
    public let queue: String
    /// Whether it has an entry in `unacked` (kombu's bookkeeping). An early-ack message that BRPOP
    /// handed straight to an idle runner has none: its ack would have followed within microseconds
    /// (see `Worker.handOverUnrecorded`). Such a message is not acked, and is restored by a plain
    /// push.
    var isRecorded = true

    /// The list it returns to when restored: its queue's list for its priority.
    public var listKey: String { QueueKeys.listKey(queue: queue, priority: message.priority) }
}
