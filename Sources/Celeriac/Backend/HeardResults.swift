import Foundation
import Synchronization

/// Ready states this process heard published, kept a few seconds, so that reading a result right
/// after ``RedisResultBackend/waitForReadyState(of:timeout:)`` returned it finds it even when the
/// worker stores it a moment after publishing it (a Celeriac worker's publish lead, see
/// ``WorkerConfiguration/publishLead``). Bounded: at most ``maximum`` states, the oldest dropped
/// first.
final class HeardResults: Sendable {
    /// The most states held.
    let maximum: Int
    /// How long a state is held: the SET follows its PUBLISH within the lead (1 ms by default),
    /// or once Redis is back when it went away in between.
    let lifetime: Duration

    private struct State {
        var metas: [String: (meta: TaskResultMeta, heard: ContinuousClock.Instant)] = [:]
        var order: [String] = []
    }

    private let state = Mutex(State())

    /// An empty record of at most `maximum` states, each held for `lifetime`.
    init(maximum: Int = 4096, lifetime: Duration = .seconds(10)) {
        self.maximum = max(1, maximum)
        self.lifetime = lifetime
    }

    /// Remembers a ready state heard on the channel of `taskID`.
    func remember(_ meta: TaskResultMeta, of taskID: String, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            if state.metas.updateValue((meta, now), forKey: taskID) == nil { state.order.append(taskID) }
            while state.order.count > maximum {
                state.metas[state.order.removeFirst()] = nil
            }
        }
    }

    /// Drops the state of `taskID` (its result was forgotten).
    func forget(_ taskID: String) {
        state.withLock { state in
            if state.metas.removeValue(forKey: taskID) != nil { state.order.removeAll { $0 == taskID } }
        }
    }

    /// What a read of `taskID` should return given what Redis holds (`stored`): the stored state,
    /// or the heard ready state when Redis holds none or one that is not ready yet.
    func reconcile(_ stored: TaskResultMeta?, taskID: String, now: ContinuousClock.Instant = .now) -> TaskResultMeta? {
        if let stored, stored.state.isReady { return stored }
        return state.withLock { state in
            guard let entry = state.metas[taskID], now - entry.heard <= lifetime else { return nil }
            return entry.meta
        } ?? stored
    }
}
