import Foundation

/// A Redis pub/sub subscriber that stays subscribed across connection losses.
///
/// It owns one connection and one thread. ``subscribe(_:)`` and ``psubscribe(_:)`` return once Redis
/// has confirmed the subscription, so a caller can subscribe first and then read state without
/// missing a message published in between. Messages arrive in ``events``.
///
/// When the connection drops (Redis restarted, killed, network reset), the subscriber reconnects
/// with capped, jittered exponential backoff, subscribes again to every channel and pattern, and
/// then yields ``Event/resubscribed``: messages published while it was disconnected are lost, so
/// consumers re-read whatever state they were watching.
public final class RedisSubscriber: Sendable {
    /// What the subscriber delivers.
    public enum Event: Sendable, Hashable {
        /// A message on a subscribed channel or pattern.
        case message(RedisPubSubMessage)
        /// The connection was lost and is back, with every subscription restored.
        case resubscribed
    }

    /// Messages and reconnection notices, in arrival order. One consumer; ends after ``close()``.
    public let events: AsyncStream<Event>

    private let core: SubscriberCore

    /// Creates a subscriber and starts connecting in the background.
    /// - Parameter bufferLimit: the most events ``events`` holds for a slow consumer; past it the
    ///   oldest are dropped (counted in ``droppedEvents``). `nil`: no limit.
    /// - Throws: ``RedisClientError`` when the wake-up pipe cannot be created (out of file descriptors).
    public init(_ configuration: RedisConfiguration, backoff: ReconnectBackoff = .standard, bufferLimit: Int? = nil) throws {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Event.self, bufferingPolicy: bufferLimit.map { .bufferingNewest(max(1, $0)) } ?? .unbounded)
        events = stream
        core = try SubscriberCore(configuration: configuration, backoff: backoff, deliver: .stream(continuation))
        core.start()
    }

    /// Creates a subscriber that hands every event to `handler` on its own I/O thread as it
    /// arrives, instead of through ``events`` (which then only ends, at ``close()``). This saves
    /// a task switch per message; the handler must be short and must not block, since the next
    /// message waits for it.
    /// - Throws: ``RedisClientError`` when the wake-up pipe cannot be created (out of file descriptors).
    public init(
        _ configuration: RedisConfiguration, backoff: ReconnectBackoff = .standard,
        handler: @escaping @Sendable (Event) -> Void
    ) throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        events = stream
        core = try SubscriberCore(
            configuration: configuration, backoff: backoff, deliver: .handler(handler, ending: continuation))
        core.start()
    }

    deinit {
        core.close()
    }

    /// Subscribes to channels and returns when Redis has confirmed every one.
    /// - Throws: ``RedisClientError`` `timeout` when not confirmed within the configuration's command
    ///   timeout (Redis unreachable; the channels are then dropped again), `closed` after ``close()``.
    public func subscribe(_ channels: [String]) async throws {
        try await core.subscribe(channels, kind: .channel)
    }

    /// Subscribes to glob-style patterns (`news.*`) and returns when Redis has confirmed every one.
    /// - Throws: as ``subscribe(_:)``.
    public func psubscribe(_ patterns: [String]) async throws {
        try await core.subscribe(patterns, kind: .pattern)
    }

    /// Unsubscribes from channels. No message of theirs is delivered after this returns.
    public func unsubscribe(_ channels: [String]) {
        core.unsubscribe(channels, kind: .channel)
    }

    /// Unsubscribes from patterns. No message of theirs is delivered after this returns.
    public func punsubscribe(_ patterns: [String]) {
        core.unsubscribe(patterns, kind: .pattern)
    }

    /// Whether the subscriber is connected right now.
    public var isConnected: Bool { core.isConnected }

    /// How many events were dropped because ``events`` held `bufferLimit` unread ones; reading
    /// resets the count.
    public func takeDroppedEvents() -> Int { core.takeDropped() }

    /// Closes the connection, stops the thread and ends ``events``.
    public func close() {
        core.close()
    }
}
