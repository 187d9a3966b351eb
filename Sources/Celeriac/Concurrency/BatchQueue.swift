/// Items appended by many tasks and taken in batches by one consumer loop: everything appended
/// while the consumer handles a batch comes out together in the next. Appends never wait.
///
/// An appender may also take the consumer's turn while the consumer is idle
/// (``claimIdleTurn(count:)``): it handles its own items then, in their place in the sequence,
/// and the consumer takes nothing until it is done (``releaseTurn(unhandled:)``).
final class BatchQueue<Element: Sendable>: Sendable {
    private struct State {
        var pending: [Element] = []
        var appended = 0
        var wake: CheckedContinuation<Void, Never>?
        var isClosed = false
        /// An appender handles its items in the consumer's stead.
        var isClaimed = false

        /// Whether the consumer has something to do now: a batch, or the end.
        var consumerMayGo: Bool { !isClaimed && (!pending.isEmpty || isClosed) }

        /// The consumer's continuation, to resume once the lock is released.
        mutating func takeWake() -> CheckedContinuation<Void, Never>? {
            defer { wake = nil }
            return wake
        }
    }

    private let state = SleepingLock(State())

    /// Appends items (dropped once closed). Returns the number of items appended so far, the
    /// sequence number of the last one.
    @discardableResult
    func append(_ items: [Element]) -> Int {
        let (count, wake) = state.withLock { state -> (Int, CheckedContinuation<Void, Never>?) in
            guard !state.isClosed else { return (state.appended, nil) }
            state.pending.append(contentsOf: items)
            state.appended += items.count
            return (state.appended, state.consumerMayGo ? state.takeWake() : nil)
        }
        wake?.resume()
        return count
    }

    /// Takes the consumer's turn for `count` items of the caller's, when the consumer waits idle
    /// for items (none pending, no batch in hand) and nobody else holds the turn. Returns the
    /// sequence number of the caller's last item (everything before it is handled), or `nil` when
    /// the turn is not free: then append as usual. The caller must call ``releaseTurn(unhandled:)``.
    func claimIdleTurn(count: Int) -> Int? {
        state.withLock { state in
            guard !state.isClosed, !state.isClaimed, state.pending.isEmpty, state.wake != nil else { return nil }
            state.isClaimed = true
            state.appended += count
            return state.appended
        }
    }

    /// Gives the turn back to the consumer, with the claimed items the caller could not handle
    /// (handled first, in their place, by the consumer's next batch).
    func releaseTurn(unhandled: [Element] = []) {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.isClaimed = false
            state.pending.insert(contentsOf: unhandled, at: 0)
            return state.consumerMayGo ? state.takeWake() : nil
        }
        wake?.resume()
    }

    /// The number of items appended so far.
    var appendedCount: Int { state.withLock { $0.appended } }

    /// Stops taking items; ``next()`` returns what is pending, then `nil`.
    func close() {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.isClosed = true
            return state.consumerMayGo ? state.takeWake() : nil
        }
        wake?.resume()
    }

    /// Waits for the next batch; returns it with the sequence number of its last item, or `nil`
    /// once the queue is closed and empty. One consumer only.
    func next() async -> (items: [Element], sequence: Int)? {
        while true {
            let taken = state.withLock { state -> (items: [Element], sequence: Int)?? in
                guard state.consumerMayGo else { return nil }
                if !state.pending.isEmpty {
                    defer { state.pending = [] }
                    return (state.pending, state.appended)
                }
                return .some(nil)
            }
            if let taken { return taken }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if state.consumerMayGo { return true }
                    state.wake = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
