import CHiredis
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The shared state and the I/O thread of a ``RedisSubscriber``.
final class SubscriberCore: Sendable {
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
        let deadline: ContinuousClock.Instant
    }

    private struct State {
        var channels: Set<String> = []
        var patterns: Set<String> = []
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        /// The socket of the live connection, once it is subscribed to everything in `channels`
        /// and `patterns`; `nil` while (re)connecting. Callers write their (UN)SUBSCRIBE commands
        /// to it themselves, under the lock (so commands never interleave), which saves waking the
        /// I/O thread on the way out: it wakes anyway for Redis' confirmation.
        var socket: Int32?
        var isClosed = false
        var pipeClosed = false
        var lastError: RedisClientError?
    }

    private let configuration: RedisConfiguration
    private let backoff: ReconnectBackoff
    /// Where events go: the ``RedisSubscriber/events`` stream, or a handler called on the I/O
    /// thread (the stream is then only finished).
    enum Delivery: Sendable {
        case stream(AsyncStream<RedisSubscriber.Event>.Continuation)
        case handler(@Sendable (RedisSubscriber.Event) -> Void, ending: AsyncStream<RedisSubscriber.Event>.Continuation)
    }

    private let delivery: Delivery
    private let state = Mutex(State())
    private let wakeRead: Int32
    private let wakeWrite: Int32
    /// How often the I/O thread looks at waiters' deadlines when nothing else wakes it: a
    /// subscription Redis does not confirm fails at most this much after its timeout.
    private let deadlineTick: Duration

    init(
        configuration: RedisConfiguration, backoff: ReconnectBackoff,
        deliver delivery: Delivery
    ) throws {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else {
            throw RedisClientError(.connectionFailed, "cannot create a pipe for the Redis subscriber: errno \(errno)")
        }
        for descriptor in descriptors { _ = chiredis_set_cloexec(descriptor) }
        self.configuration = configuration
        self.backoff = backoff
        self.delivery = delivery
        self.wakeRead = descriptors[0]
        self.wakeWrite = descriptors[1]
        self.deadlineTick = max(.milliseconds(10), min(.seconds(1), configuration.commandTimeout / 4))
    }

    func start() {
        let thread = Thread { [self] in
            chiredis_set_thread_name("celeriac-sub")
            run()
        }
        thread.start()
    }

    var isConnected: Bool { state.withLock { $0.socket != nil } }

    // MARK: Caller side

    func subscribe(_ names: [String], kind: Kind) async throws {
        guard !names.isEmpty else { return }
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let deadline = ContinuousClock.now + configuration.commandTimeout
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: CheckedContinuation<Void, any Error>) in
                let closed = state.withLock { state in
                    if state.isClosed { return true }
                    switch kind {
                    case .channel: state.channels.formUnion(names)
                    case .pattern: state.patterns.formUnion(names)
                    }
                    state.waiters.append(
                        Waiter(id: id, remaining: Set(names), kind: kind, continuation: waiter, deadline: deadline))
                    // Not connected: the I/O thread subscribes to every name in the sets when it is.
                    send(RESPCommand(kind.subscribeCommand, arguments: names), &state)
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
            send(RESPCommand(kind.unsubscribeCommand, arguments: names), &state)
        }
    }

    func close() {
        let waiters = state.withLock { state -> [Waiter] in
            guard !state.isClosed else { return [] }
            state.isClosed = true
            if !state.pipeClosed {
                var byte: UInt8 = 1
                _ = write(wakeWrite, &byte, 1)
            }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: RedisClientError(.closed, "the Redis subscriber was closed"))
        }
    }

    /// Writes `command` to the live connection, if there is one. Called with the lock held. A
    /// failed write shuts the socket down, so that the I/O thread reconnects and subscribes again
    /// to everything in the sets.
    private func send(_ command: RESPCommand, _ state: inout State) {
        guard let socket = state.socket else { return }
        var encoded: [UInt8] = []
        command.encode(into: &encoded)
        if writeFully(socket, encoded) != 0 {
            _ = shutdown(socket, Int32(SHUT_RDWR))
            state.socket = nil
        }
    }

    /// Fails the waiters whose deadline has passed.
    private func expireWaiters() {
        let now = ContinuousClock.now
        let expired = state.withLock { state in state.waiters.filter { $0.deadline <= now }.map(\.id) }
        for id in expired { failWaiter(id, timedOutAfter: configuration.commandTimeout) }
    }

    /// How long the I/O thread may wait before a waiter's deadline needs checking.
    private func waitLimit() -> Duration {
        let earliest = state.withLock { state in state.waiters.map(\.deadline).min() }
        guard let earliest else { return deadlineTick }
        return max(.zero, min(deadlineTick, earliest - .now))
    }

    private func failWaiter(_ id: UInt64, timedOutAfter timeout: Duration) {
        let reason = state.withLock { $0.lastError.map { ": \($0.message)" } ?? "" }
        failWaiter(
            id,
            with: RedisClientError(
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
            send(RESPCommand(waiter.kind.unsubscribeCommand, arguments: Array(waiter.remaining)), &state)
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }

    // MARK: I/O thread

    private func run() {
        var context: HiredisContext?
        var failures = 0
        var hasBeenConnected = false
        var resubscribeConfirmationsPending = 0
        var nextAttempt = ContinuousClock.now

        while !state.withLock({ $0.isClosed }) {
            expireWaiters()
            guard let connected = context else {
                let untilAttempt = nextAttempt - .now
                if untilAttempt > .zero {
                    // Wakes for waiters' deadlines between the attempts backoff spaces out.
                    sleepInterruptibly(min(untilAttempt, waitLimit()))
                    continue
                }
                do {
                    let newContext = try HiredisContext.connect(configuration)
                    let subscriptions = try state.withLock { state -> Int in
                        var encoded: [UInt8] = []
                        if !state.channels.isEmpty { RESPCommand("SUBSCRIBE", arguments: Array(state.channels)).encode(into: &encoded) }
                        if !state.patterns.isEmpty { RESPCommand("PSUBSCRIBE", arguments: Array(state.patterns)).encode(into: &encoded) }
                        if !encoded.isEmpty { try newContext.write(encoded) }
                        state.socket = newContext.fileDescriptor
                        state.lastError = nil
                        return state.channels.count + state.patterns.count
                    }
                    if hasBeenConnected {
                        resubscribeConfirmationsPending = subscriptions
                        if resubscribeConfirmationsPending == 0 { deliver(.resubscribed) }
                    }
                    hasBeenConnected = true
                    failures = 0
                    context = newContext
                } catch {
                    failures += 1
                    nextAttempt = ContinuousClock.now + backoff.delay(afterFailures: failures)
                    state.withLock { $0.lastError = error as? RedisClientError }
                }
                continue
            }

            do {
                var descriptors = [
                    pollfd(fd: connected.fileDescriptor, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                ]
                let ready = poll(&descriptors, 2, Self.milliseconds(waitLimit()))
                if ready < 0 {
                    if errno == EINTR { continue }
                    throw RedisClientError(.connectionClosed, "poll failed: errno \(errno)")
                }
                if descriptors[1].revents != 0 { drainWakePipe() }
                if descriptors[0].revents != 0 {
                    try connected.readAvailable()
                    while let reply = try connected.bufferedReply() {
                        if handle(reply), resubscribeConfirmationsPending > 0 {
                            resubscribeConfirmationsPending -= 1
                            if resubscribeConfirmationsPending == 0 { deliver(.resubscribed) }
                        }
                    }
                }
            } catch {
                state.withLock { state in
                    state.socket = nil
                    state.lastError = error as? RedisClientError
                }
                context = nil
                resubscribeConfirmationsPending = 0
                failures = 1
                nextAttempt = ContinuousClock.now + backoff.delay(afterFailures: failures)
            }
        }
        state.withLock { $0.socket = nil }
        context = nil
        state.withLock { state in
            state.pipeClosed = true
            closeDescriptor(wakeRead)
            closeDescriptor(wakeWrite)
        }
        switch delivery {
        case .stream(let continuation), .handler(_, let continuation): continuation.finish()
        }
    }

    private let dropped = Mutex(0)

    func takeDropped() -> Int {
        dropped.withLock { count in
            defer { count = 0 }
            return count
        }
    }

    private func deliver(_ event: RedisSubscriber.Event) {
        switch delivery {
        case .stream(let continuation):
            if case .dropped = continuation.yield(event) { dropped.withLock { $0 += 1 } }
        case .handler(let handler, _): handler(event)
        }
    }

    /// Handles one reply; returns whether it confirmed a subscription.
    private func handle(_ reply: RESPValue) -> Bool {
        guard case .array(let parts) = reply, let kind = parts.first?.string else { return false }
        switch (kind, parts.count) {
        case ("message", 3):
            guard let channel = parts[1].string, let payload = parts[2].bytes else { return false }
            if state.withLock({ $0.channels.contains(channel) }) {
                deliver(.message(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload)))
            }
            return false
        case ("pmessage", 4):
            guard let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].bytes else {
                return false
            }
            if state.withLock({ $0.patterns.contains(pattern) }) {
                deliver(.message(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload)))
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
    }

    /// Waits for `duration`, or less if ``close()`` wakes the thread.
    private func sleepInterruptibly(_ duration: Duration) {
        var descriptor = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, Self.milliseconds(duration)) > 0 {
            drainWakePipe()
        }
    }

    /// A `poll` timeout: whole milliseconds, rounded up (a deadline 0.3 ms away is not a busy loop).
    private static func milliseconds(_ duration: Duration) -> Int32 {
        Int32(clamping: Int64((max(0, duration.secondsValue) * 1000).rounded(.up)))
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
