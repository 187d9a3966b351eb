/// The broker keys a consumer uses besides the queue lists.
///
/// The first three are kombu's ack-emulation keys (kombu transport options `unacked_key`,
/// `unacked_index_key`, `unacked_mutex_key`); Python workers sweep and restore the same entries.
/// The others are Celeriac's own.
public struct ConsumerKeys: Sendable, Hashable {
    /// Hash: delivery tag → JSON `[envelope, exchange, routing_key]` of every fetched, unacked message.
    public var unacked = "unacked"
    /// Sorted set: delivery tag scored by fetch time (epoch seconds); the visibility sweep reads it.
    public var unackedIndex = "unacked_index"
    /// String: the lock held during a visibility sweep.
    public var unackedMutex = "unacked_mutex"
    /// List: messages that could not be run (undecodable, unknown task), each a JSON object with
    /// the reason and the original bytes. Newest first.
    public var deadLetter = "celeriac.dead"
    /// Sorted set: delivery tags of countdown/ETA messages held until due, scored by ETA (epoch s).
    public var scheduled = "celeriac.scheduled"
    /// Hash: delivery tag → `<length of list key>:<list key><envelope>` of each held ETA message.
    public var scheduledMessages = "celeriac.scheduled.messages"

    /// kombu's and Celeriac's default names.
    public init() {}
}
