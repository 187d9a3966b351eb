/// A message received on a subscribed channel or pattern.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel the message was published to.
    public let channel: String
    /// The pattern that matched, for messages received through `PSUBSCRIBE`; `nil` for `SUBSCRIBE`.
    public let pattern: String?
    /// The message bytes as published.
    public let payload: [UInt8]

    /// Creates a message.
    public init(channel: String, pattern: String?, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload decoded as UTF-8.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}
