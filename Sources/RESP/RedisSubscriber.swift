import CHiredis
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    /// - Throws: ``RedisClientError`` when the wake-up pipe cannot be created (out of file descriptors).
    public init(_ configuration: RedisConfiguration, backoff: ReconnectBackoff = .standard) throws {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .unbounded)
        events = stream
        core = try SubscriberCore(configuration: configuration, backoff: backoff, continuation: continuation)
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

    /// Closes the connection, stops the thread and ends ``events``.
    public func close() {
        core.close()
    }
}

/// The shared state and the I/O thread of a ``RedisSubscriber``.
private final class SubscriberCore: Sendable {
    enum Kind: Sendable {
        case channel, pattern

        var subscribeCommand: String { self == .channel ? "SUBSCRIBE" : "PSUBSCRIBE" }
        var unsubscribeCommand: String { self == .channel ? "UNSUBSCRIBE" : "PUNSUBSCRIBE" }
    }

    private struct Waiter {
        let id: UInt64
        var remaining: Set<String>
        let kind: Kind
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var channels: Set<String> = []
        var patterns: Set<String> = []
        var outbox: [RESPCommand] = []
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var isConnected = false
        var isClosed = false
        var wakePending = false
        var pipeClosed = false
        var lastError: RedisClientError?
    }

    private let configuration: RedisConfiguration
    private let backoff: ReconnectBackoff
    private let continuation: AsyncStream<RedisSubscriber.Event>.Continuation
    private let state = Mutex(State())
    private let wakeRead: Int32
    private let wakeWrite: Int32

    init(
        configuration: RedisConfiguration, backoff: ReconnectBackoff,
        continuation: AsyncStream<RedisSubscriber.Event>.Continuation
    ) throws {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else {
            throw RedisClientError(.connectionFailed, "cannot create a pipe for the Redis subscriber: errno \(errno)")
        }
        for descriptor in descriptors { _ = chiredis_set_cloexec(descriptor) }
        self.configuration = configuration
        self.backoff = backoff
        self.continuation = continuation
        self.wakeRead = descriptors[0]
        self.wakeWrite = descriptors[1]
    }

    func start() {
        let thread = Thread { [self] in
            chiredis_set_thread_name("celeriac-sub")
            run()
        }
        thread.start()
    }

    var isConnected: Bool { state.withLock { $0.isConnected } }

    // MARK: Caller side

    func subscribe(_ names: [String], kind: Kind) async throws {
        guard !names.isEmpty else { return }
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timeout = configuration.commandTimeout
        // Captures self strongly: the timer is always cancelled below, so it cannot outlive the call.
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.failWaiter(id, timedOutAfter: timeout)
        }
        defer { timer.cancel() }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                let closed = state.withLock { state in
                    if state.isClosed { return true }
                    switch kind {
                    case .channel: state.channels.formUnion(names)
                    case .pattern: state.patterns.formUnion(names)
                    }
                    state.waiters.append(Waiter(id: id, remaining: Set(names), kind: kind, continuation: waiter))
                    state.outbox.append(RESPCommand(kind.subscribeCommand, arguments: names))
                    wake(&state)
                    return false
                }
                if closed {
                    waiter.resume(throwing: RedisClientError(.closed, "the Redis subscriber was closed"))
                }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    func unsubscribe(_ names: [String], kind: Kind) {
        guard !names.isEmpty else { return }
        state.withLock { state in
            switch kind {
            case .channel: state.channels.subtract(names)
            case .pattern: state.patterns.subtract(names)
            }
            state.outbox.append(RESPCommand(kind.unsubscribeCommand, arguments: names))
            wake(&state)
        }
    }

    func close() {
        let waiters = state.withLock { state -> [Waiter] in
            guard !state.isClosed else { return [] }
            state.isClosed = true
            wake(&state)
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: RedisClientError(.closed, "the Redis subscriber was closed"))
        }
    }

    private func failWaiter(_ id: UInt64, timedOutAfter timeout: Duration) {
        let reason = state.withLock { $0.lastError.map { ": \($0.message)" } ?? "" }
        failWaiter(id, with: RedisClientError(
            .timeout, "Redis at \(configuration.redactedURL) did not confirm the subscription within \(timeout)\(reason)"))
    }

    /// Fails one waiter and drops the names it was still waiting for from the subscriptions.
    private func failWaiter(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = state.waiters.remove(at: index)
            switch waiter.kind {
            case .channel: state.channels.subtract(waiter.remaining)
            case .pattern: state.patterns.subtract(waiter.remaining)
            }
            if state.isConnected {
                state.outbox.append(RESPCommand(waiter.kind.unsubscribeCommand, arguments: Array(waiter.remaining)))
                wake(&state)
            }
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Wakes the I/O thread. Called with the lock held; the thread closes the pipe with the lock held
    /// after `isClosed` is set and `close()` has written its byte, so no byte goes to a reused fd.
    private func wake(_ state: inout State) {
        guard !state.wakePending, !state.pipeClosed else { return }
        state.wakePending = true
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    // MARK: I/O thread

    private func run() {
        var context: HiredisContext?
        var failures = 0
        var hasBeenConnected = false
        var resubscribeConfirmationsPending = 0

        while !state.withLock({ $0.isClosed }) {
            guard let connected = context else {
                if failures > 0 {
                    sleepInterruptibly(backoff.delay(afterFailures: failures))
                    if state.withLock({ $0.isClosed }) { break }
                }
                do {
                    let newContext = try HiredisContext.connect(configuration)
                    let (channels, patterns) = state.withLock { state in
                        state.outbox = []
                        state.isConnected = true
                        state.lastError = nil
                        return (state.channels, state.patterns)
                    }
                    if !channels.isEmpty { try newContext.append(RESPCommand("SUBSCRIBE", arguments: Array(channels))) }
                    if !patterns.isEmpty { try newContext.append(RESPCommand("PSUBSCRIBE", arguments: Array(patterns))) }
                    try newContext.flush()
                    if hasBeenConnected {
                        resubscribeConfirmationsPending = channels.count + patterns.count
                        if resubscribeConfirmationsPending == 0 { continuation.yield(.resubscribed) }
                    }
                    hasBeenConnected = true
                    failures = 0
                    context = newContext
                } catch {
                    failures += 1
                    state.withLock { $0.lastError = error as? RedisClientError }
                }
                continue
            }

            do {
                var descriptors = [
                    pollfd(fd: connected.fileDescriptor, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                ]
                let ready = poll(&descriptors, 2, -1)
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw RedisClientError(.connectionClosed, "poll failed: errno \(errno)")
                }
                if descriptors[1].revents != 0 {
                    drainWakePipe()
                    let commands = state.withLock { state in
                        defer { state.outbox = [] }
                        return state.outbox
                    }
                    for command in commands { try connected.append(command) }
                    if !commands.isEmpty { try connected.flush() }
                }
                if descriptors[0].revents != 0 {
                    try connected.readAvailable()
                    while let reply = try connected.bufferedReply() {
                        if handle(reply), resubscribeConfirmationsPending > 0 {
                            resubscribeConfirmationsPending -= 1
                            if resubscribeConfirmationsPending == 0 { continuation.yield(.resubscribed) }
                        }
                    }
                }
            } catch {
                context = nil
                resubscribeConfirmationsPending = 0
                failures = 1
                state.withLock { state in
                    state.isConnected = false
                    state.lastError = error as? RedisClientError
                }
            }
        }
        context = nil
        state.withLock { state in
            state.pipeClosed = true
            closeDescriptor(wakeRead)
            closeDescriptor(wakeWrite)
        }
        continuation.finish()
    }

    /// Handles one reply; returns whether it confirmed a subscription.
    private func handle(_ reply: RESPValue) -> Bool {
        guard case .array(let parts) = reply, let kind = parts.first?.string else { return false }
        switch (kind, parts.count) {
        case ("message", 3):
            guard let channel = parts[1].string, let payload = parts[2].bytes else { return false }
            if state.withLock({ $0.channels.contains(channel) }) {
                continuation.yield(.message(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload)))
            }
            return false
        case ("pmessage", 4):
            guard let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].bytes else {
                return false
            }
            if state.withLock({ $0.patterns.contains(pattern) }) {
                continuation.yield(.message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload)))
            }
            return false
        case ("subscribe", 3), ("psubscribe", 3):
            guard let name = parts[1].string else { return false }
            confirm(name, kind: kind == "subscribe" ? .channel : .pattern)
            return true
        default:
            return false
        }
    }

    /// Marks `name` confirmed for every waiter of that kind and resumes those with nothing left.
    private func confirm(_ name: String, kind: Kind) {
        let completed = state.withLock { state -> [Waiter] in
            for index in state.waiters.indices where state.waiters[index].kind == kind {
                state.waiters[index].remaining.remove(name)
            }
            let completed = state.waiters.filter(\.remaining.isEmpty)
            state.waiters.removeAll(where: \.remaining.isEmpty)
            return completed
        }
        for waiter in completed { waiter.continuation.resume() }
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        _ = read(wakeRead, &buffer, buffer.count)
        state.withLock { $0.wakePending = false }
    }

    /// Waits for `duration`, or less if ``close()`` wakes the thread.
    private func sleepInterruptibly(_ duration: Duration) {
        var descriptor = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: Int64(duration.secondsValue * 1000))
        if poll(&descriptor, 1, milliseconds) > 0 {
            drainWakePipe()
        }
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
