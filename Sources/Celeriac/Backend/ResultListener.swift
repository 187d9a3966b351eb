import RESP
import Synchronization

/// Shares one ``RedisSubscriber`` among everyone waiting for results: each waiter registers for
/// its `celery-task-meta-<id>` channel and gets the payloads published there, plus a notice after a
/// reconnection (when messages may have been missed and the key must be read again).
final class ResultListener: Sendable {
    enum Signal: Sendable {
        case message([UInt8])
        case resubscribed
    }

    private struct State {
        var listeners: [String: [UInt64: AsyncStream<Signal>.Continuation]] = [:]
        var nextID: UInt64 = 0
        var dispatcher: Task<Void, Never>?
    }

    /// The listeners, in an object of their own so that the dispatcher task can hold them without
    /// holding the listener (and its subscriber) alive.
    private final class Registry: Sendable {
        let state = Mutex(State())

        func dispatch(_ event: RedisSubscriber.Event) {
            switch event {
            case .message(let message):
                let targets = state.withLock { Array(($0.listeners[message.channel] ?? [:]).values) }
                for target in targets { target.yield(.message(message.payload)) }
            case .resubscribed:
                let targets = state.withLock { $0.listeners.values.flatMap(\.values) }
                for target in targets { target.yield(.resubscribed) }
            }
        }
    }

    private let subscriber: RedisSubscriber
    private let registry = Registry()

    init(subscriber: RedisSubscriber) {
        self.subscriber = subscriber
    }

    deinit {
        // Ends the subscriber's event stream, and with it the dispatcher task.
        subscriber.close()
    }

    /// Registers for `channel` and returns once Redis has confirmed the subscription, so nothing
    /// published afterwards can be missed.
    /// - Throws: ``RedisClientError`` when the subscription is not confirmed in time.
    func listen(_ channel: String) async throws -> (id: UInt64, signals: AsyncStream<Signal>) {
        let (signals, continuation) = AsyncStream.makeStream(of: Signal.self, bufferingPolicy: .unbounded)
        let id = registry.state.withLock { state in
            state.nextID += 1
            state.listeners[channel, default: [:]][state.nextID] = continuation
            if state.dispatcher == nil {
                state.dispatcher = Task { [registry, events = subscriber.events] in
                    for await event in events { registry.dispatch(event) }
                }
            }
            return state.nextID
        }
        do {
            try await subscriber.subscribe([channel])
        } catch {
            stopListening(channel, id: id)
            throw error
        }
        return (id, signals)
    }

    /// Unregisters; unsubscribes from the channel when nobody else listens to it. The decision and
    /// the unsubscribe happen under the lock that registrations take, so a listener registering at
    /// the same moment keeps its subscription.
    func stopListening(_ channel: String, id: UInt64) {
        let continuation = registry.state.withLock { state -> AsyncStream<Signal>.Continuation? in
            let removed = state.listeners[channel]?.removeValue(forKey: id)
            if state.listeners[channel]?.isEmpty == true {
                state.listeners[channel] = nil
                subscriber.unsubscribe([channel])
            }
            return removed
        }
        continuation?.finish()
    }

    /// Stops the dispatcher and the subscriber; every waiter's stream ends.
    func close() {
        let (dispatcher, continuations) = registry.state.withLock { state in
            defer {
                state.listeners = [:]
                state.dispatcher = nil
            }
            return (state.dispatcher, state.listeners.values.flatMap(\.values))
        }
        subscriber.close()
        dispatcher?.cancel()
        for continuation in continuations { continuation.finish() }
    }
}
