/// The worker's prefetch window: messages fetched and waiting for a free runner, bounded by the
/// prefetch count and a byte budget (a few large messages must not take the worker's memory).
/// The fetch loop waits for room; runners wait for messages.
final class ReservedMessages: Sendable {
    private struct State {
        var queue: [Delivery] = []
        var head = 0
        var runners: [CheckedContinuation<Delivery?, Never>] = []
        var fetcher: (limit: Int, budget: Int, continuation: CheckedContinuation<Int, Never>)?
        var isClosed = false
        /// The envelope bytes of the waiting messages.
        var bytes = 0

        var count: Int { queue.count - head }

        /// Whether a fetch may add messages: at most half of `limit` messages and half of
        /// `budget` bytes wait (so that fetches come in batches, not one per freed slot).
        func hasRoom(limit: Int, budget: Int) -> Bool { count <= limit / 2 && bytes <= budget / 2 }
    }

    private let state = SleepingLock(State())

    /// Adds fetched messages; hands them straight to waiting runners.
    func put(_ deliveries: [Delivery]) {
        var handed: [(CheckedContinuation<Delivery?, Never>, Delivery)] = []
        state.withLock { state in
            for delivery in deliveries {
                if !state.isClosed, !state.runners.isEmpty {
                    handed.append((state.runners.removeFirst(), delivery))
                } else {
                    state.queue.append(delivery)
                    state.bytes += delivery.raw.count
                }
            }
        }
        for (runner, delivery) in handed { runner.resume(returning: delivery) }
    }

    /// Whether a runner waits for a message now (and no message waits for a runner).
    var hasIdleRunner: Bool { state.withLock { !$0.isClosed && !$0.runners.isEmpty } }

    /// Hands `delivery` to a waiting runner; returns `false`, keeping nothing, when none waits
    /// (or the window is closed).
    func handToIdleRunner(_ delivery: Delivery) -> Bool {
        let runner = state.withLock { state -> CheckedContinuation<Delivery?, Never>? in
            guard !state.isClosed, !state.runners.isEmpty else { return nil }
            return state.runners.removeFirst()
        }
        runner?.resume(returning: delivery)
        return runner != nil
    }

    /// The next message for a runner, without suspending: a waiting message, else `nil`. A
    /// runner that finds work this way costs no thread switch.
    func nextIfWaiting() -> Delivery? {
        let (delivery, fetcher) = state.withLock { state -> (Delivery?, (CheckedContinuation<Int, Never>, Int)?) in
            guard !state.isClosed, state.count > 0 else { return (nil, nil) }
            return (take(&state), wakeFetcher(&state))
        }
        if let fetcher { fetcher.0.resume(returning: fetcher.1) }
        return delivery
    }

    private func take(_ state: inout State) -> Delivery {
        let delivery = state.queue[state.head]
        state.head += 1
        state.bytes -= delivery.raw.count
        if state.head == state.queue.count {
            state.queue.removeAll(keepingCapacity: true)
            state.head = 0
        }
        return delivery
    }

    /// The fetcher to resume, once there is room (see ``State/hasRoom(limit:budget:)``).
    private func wakeFetcher(_ state: inout State) -> (CheckedContinuation<Int, Never>, Int)? {
        guard let fetcher = state.fetcher, state.hasRoom(limit: fetcher.limit, budget: fetcher.budget) else { return nil }
        state.fetcher = nil
        return (fetcher.continuation, fetcher.limit - state.count)
    }

    /// The next message for a runner, waiting for one; `nil` once closed.
    func next() async -> Delivery? {
        await withCheckedContinuation { continuation in
            let (delivery, closed, fetcher) = state.withLock { state -> (Delivery?, Bool, (CheckedContinuation<Int, Never>, Int)?) in
                if state.isClosed { return (nil, true, nil) }
                guard state.count > 0 else {
                    state.runners.append(continuation)
                    return (nil, false, nil)
                }
                return (take(&state), false, wakeFetcher(&state))
            }
            if let fetcher { fetcher.0.resume(returning: fetcher.1) }
            if let delivery {
                continuation.resume(returning: delivery)
            } else if closed {
                continuation.resume(returning: nil)
            }
        }
    }

    /// Waits until at most half of `limit` messages and half of `budget` bytes wait (so that
    /// fetches come in batches, not one message per freed slot), and returns how many more
    /// messages fit; 0 once closed. A fetch may pass the budget by the messages it brings.
    func waitForRoom(limit: Int, budget: Int = .max) async -> Int {
        await withCheckedContinuation { continuation in
            let room = state.withLock { state -> Int? in
                if state.isClosed { return 0 }
                if state.hasRoom(limit: limit, budget: budget) { return limit - state.count }
                state.fetcher = (limit, budget, continuation)
                return nil
            }
            if let room { continuation.resume(returning: room) }
        }
    }

    /// How many messages wait.
    var count: Int { state.withLock { $0.count } }

    /// How many envelope bytes wait.
    var bytes: Int { state.withLock { $0.bytes } }

    /// The waiting messages (for `inspect reserved`).
    var snapshot: [Delivery] { state.withLock { Array($0.queue[$0.head...]) } }

    /// Stops handing out messages: waiting runners and the fetcher get `nil`/0. Returns the messages
    /// still waiting, to be restored to their queues.
    func close() -> [Delivery] {
        let (left, runners, fetcher) = state.withLock { state in
            state.isClosed = true
            let left = Array(state.queue[state.head...])
            state.queue = []
            state.head = 0
            state.bytes = 0
            defer {
                state.runners = []
                state.fetcher = nil
            }
            return (left, state.runners, state.fetcher)
        }
        for runner in runners { runner.resume(returning: nil) }
        fetcher?.continuation.resume(returning: 0)
        return left
    }

    /// Messages put after ``close()`` (by a fetch that was under way): taken for restoring.
    func takeLeftovers() -> [Delivery] {
        state.withLock { state in
            defer {
                state.queue = []
                state.head = 0
                state.bytes = 0
            }
            return Array(state.queue[state.head...])
        }
    }
}
