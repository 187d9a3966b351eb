import Foundation

/// Guards state shared by the worker's threads with a lock whose waiters sleep at once.
///
/// `Synchronization.Mutex` on Linux spins for about 500 `pause`s before it sleeps. On a small
/// machine the worker runs more busy threads than there are cores (runners, fetch loop, writer,
/// the Redis connections' threads), so the holder of a contended lock has often been preempted,
/// and that spinning burnt about 5% of the worker's CPU in profiles of a drain. A pthread mutex
/// (`NSLock`) parks the waiter in the kernel instead. Critical sections stay as short as with
/// `Mutex`: no awaiting, no I/O inside.
final class SleepingLock<State: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `state` is only read or written by `withLock`, while `lock` is held.
    private let lock = NSLock()
    private var state: State

    init(_ state: State) {
        self.state = state
    }

    /// Runs `body` with exclusive access to the state.
    func withLock<Result>(_ body: (inout State) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&state)
    }
}
