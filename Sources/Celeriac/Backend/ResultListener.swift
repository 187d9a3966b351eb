import RESP
import Synchronization

/// Shares one ``RedisSubscriber`` among everyone waiting for results: each waiter registers a
/// handler for its `celery-task-meta-<id>` channel and gets the payloads published there, plus a
/// notice after a reconnection (when messages may have been missed and the key must be read
/// again). Handlers run on the subscriber's thread, one event at a time, as the message arrives:
/// keep them short and never block. The subscriber (its thread and connection) is made by the
/// first ``listen(_:handler:)``, not when the listener is: an app that never waits for a result
/// never connects one.
final class ResultListener: Sendable {
    enum Signal: Sendable {
        case message([UInt8])
        case resubscribed
    }

    typealias Handler = @Sendable (Signal) -> Void

    private struct State {
        var listeners: [String: [UInt64: Handler]] = [:]
        var nextID: UInt64 = 0
    }

    /// The listeners, in an object of their own so that the subscriber's handler can hold them
    /// without holding the listener (and its subscriber) alive.
    private final class Registry: Sendable {
        let state = Mutex(State())

        func dispatch(_ event: RedisSubscriber.Event) {
            switch event {
            case .message(let message):
                let targets = state.withLock { Array(($0.listeners[message.channel] ?? [:]).values) }
                for target in targets { target(.message(message.payload)) }
            case .resubscribed:
                let targets = state.withLock { $0.listeners.values.flatMap(\.values) }
                for target in targets { target(.resubscribed) }
            }
        }
    }

    private struct Slot {
        var subscriber: RedisSubscriber?
        var isClosed = false
    }

    private let configuration: RedisConfiguration
    private let registry = Registry()
    private let slot = Mutex(Slot())

    /// A listener for the server `configuration` names; nothing connects yet.
    init(_ configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    deinit {
        slot.withLock { $0.subscriber }?.close()
    }

    /// The subscriber, made (connecting in the background) the first time it is needed.
    /// - Throws: ``RedisClientError`` `closed` after ``close()``; when it cannot be created (out
    ///   of file descriptors).
    private func activeSubscriber() throws -> RedisSubscriber {
        try slot.withLock { slot in
            guard !slot.isClosed else { throw RedisClientError(.closed, "the result listener is closed") }
            if let subscriber = slot.subscriber { return subscriber }
            let registry = self.registry
            let subscriber = try RedisSubscriber(configuration) { event in registry.dispatch(event) }
            slot.subscriber = subscriber
            return subscriber
        }
    }

    /// Registers for `channel` and returns once Redis has confirmed the subscription, so nothing
    /// published afterwards can be missed.
    /// - Throws: ``RedisClientError`` when the subscription is not confirmed in time.
    func listen(_ channel: String, handler: @escaping Handler) async throws -> UInt64 {
        let id = registry.state.withLock { state in
            state.nextID += 1
            state.listeners[channel, default: [:]][state.nextID] = handler
            return state.nextID
        }
        do {
            try await activeSubscriber().subscribe([channel])
        } catch {
            stopListening(channel, id: id)
            throw error
        }
        return id
    }

    /// Unregisters; unsubscribes from the channel when nobody else listens to it. The decision and
    /// the unsubscribe happen under the lock that registrations take, so a listener registering at
    /// the same moment keeps its subscription.
    func stopListening(_ channel: String, id: UInt64) {
        registry.state.withLock { state in
            state.listeners[channel]?.removeValue(forKey: id)
            if state.listeners[channel]?.isEmpty == true {
                state.listeners[channel] = nil
                slot.withLock { $0.subscriber }?.unsubscribe([channel])
            }
        }
    }

    /// Stops the subscriber; waiters end with their timeout or cancellation.
    func close() {
        registry.state.withLock { $0.listeners = [:] }
        slot.withLock { slot in
            slot.isClosed = true
            return slot.subscriber
        }?.close()
    }
}
