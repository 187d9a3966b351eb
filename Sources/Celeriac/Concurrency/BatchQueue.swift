/// Items appended by many tasks and taken in batches by one consumer loop: everything appended
/// while the consumer handles a batch comes out together in the next. Appends never wait.
final class BatchQueue<Element: Sendable>: Sendable {
    private struct State {
        var pending: [Element] = []
        var appended = 0
        var wake: CheckedContinuation<Void, Never>?
        var isClosed = false
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
            defer { state.wake = nil }
            return (state.appended, state.wake)
        }
        wake?.resume()
        return count
    }

    /// The number of items appended so far.
    var appendedCount: Int { state.withLock { $0.appended } }

    /// Stops taking items; ``next()`` returns what is pending, then `nil`.
    func close() {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.isClosed = true
            defer { state.wake = nil }
            return state.wake
        }
        wake?.resume()
    }

    /// Waits for the next batch; returns it with the sequence number of its last item, or `nil`
    /// once the queue is closed and empty. One consumer only.
    func next() async -> (items: [Element], sequence: Int)? {
        while true {
            let taken = state.withLock { state -> (items: [Element], sequence: Int)?? in
                if !state.pending.isEmpty {
                    defer { state.pending = [] }
                    return (state.pending, state.appended)
                }
                return state.isClosed ? .some(nil) : nil
            }
            if let taken { return taken }
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if !state.pending.isEmpty || state.isClosed { return true }
                    state.wake = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
