import Synchronization

/// A value set once, by whichever of several racing parties comes first (a result, a timer, a
/// cancellation), and awaited once.
final class OneShot<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiter: CheckedContinuation<Value, Never>?)>((nil, nil))

    /// Sets the value unless one was set before; later calls are ignored.
    func finish(_ value: Value) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: value)
    }

    /// Waits for the value. When the waiting task is cancelled, `onCancel` (if given) is set as the
    /// value, so that the wait ends.
    func value(onCancel: Value? = nil) async -> Value {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Value? in
                    if let value = state.value { return value }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            if let onCancel { finish(onCancel) }
        }
    }
}
