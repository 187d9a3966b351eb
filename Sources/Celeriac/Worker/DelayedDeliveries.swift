import Foundation

/// Messages this worker holds in memory until their near ETA (within
/// ``WorkerConfiguration/scheduleThreshold``; those further away wait in Redis, in
/// `celeriac.scheduled`). One loop, ``run(release:)``, releases each when it is due, instead of a
/// timer task per message. They stay unacked in Redis meanwhile, refreshed like the prefetch
/// window, so a worker that dies leaves them to the visibility sweep.
final class DelayedDeliveries: Sendable {
    private struct State {
        var held: [String: (eta: Date, delivery: Delivery)] = [:]
        /// Fired to wake the loop (a new hold, or closing); replaced on every round.
        var wake = AsyncSignal()
        var isClosed = false
    }

    private let state = SleepingLock(State())

    /// Holds `delivery` until `eta`. Returns `false`, holding nothing, once closed: the caller
    /// hands it on to be restored with the rest (see ``close()``).
    @discardableResult
    func hold(_ delivery: Delivery, until eta: Date) -> Bool {
        let wake = state.withLock { state -> AsyncSignal? in
            guard !state.isClosed else { return nil }
            state.held[delivery.deliveryTag] = (eta, delivery)
            return state.wake
        }
        wake?.fire()
        return wake != nil
    }

    /// The messages held now (for `inspect scheduled`), soonest first.
    var snapshot: [Delivery] {
        state.withLock { $0.held.values.sorted { $0.eta < $1.eta }.map(\.delivery) }
    }

    /// Their delivery tags (refreshed in `unacked_index` with the others this worker holds).
    var deliveryTags: [String] { state.withLock { Array($0.held.keys) } }

    /// Stops the loop and returns what was held, to be restored to its queues (warm shutdown).
    func close() -> [Delivery] {
        let (left, wake) = state.withLock { state in
            state.isClosed = true
            defer { state.held = [:] }
            return (state.held.values.sorted { $0.eta < $1.eta }.map(\.delivery), state.wake)
        }
        wake.fire()
        return left
    }

    /// Releases each message when its ETA comes, soonest first, until ``close()`` or cancellation.
    func run(release: @escaping @Sendable (Delivery) -> Void) async {
        while !Task.isCancelled {
            let round = state.withLock { state -> (due: [Delivery], next: Date?, wake: AsyncSignal)? in
                guard !state.isClosed else { return nil }
                let now = Date()
                let due = state.held.values.filter { $0.eta <= now }.sorted { $0.eta < $1.eta }
                for entry in due { state.held[entry.delivery.deliveryTag] = nil }
                state.wake = AsyncSignal()
                return (due.map(\.delivery), state.held.values.map(\.eta).min(), state.wake)
            }
            guard let round else { return }
            for delivery in round.due { release(delivery) }
            if let next = round.next {
                let wait = Duration.seconds(min(max(0, next.timeIntervalSinceNow), OutsideNumber.maximumSeconds))
                await firstOf({ try? await Task.sleep(for: wait) }, { await round.wake.wait() })
            } else {
                await round.wake.wait()
            }
        }
    }
}
