import Foundation
import Synchronization

/// The concurrency slots: the runner loops that take messages from the prefetch window, growing
/// and shrinking them (`pool_grow`, `pool_shrink`), and the tasks' rate limiters.
extension Worker {
    func runnerLoop() async {
        while true {
            let retires = state.withLock { state -> Bool in
                guard state.retiring > 0 else { return false }
                state.retiring -= 1
                return true
            }
            if retires { break }
            var next = reserved.nextIfWaiting()
            if next == nil { next = await reserved.next() }
            guard let delivery = next else { break }
            await execute(delivery)
        }
        let last = state.withLock { state -> Bool in
            state.liveRunners -= 1
            return state.liveRunners == 0
        }
        if last { runnersFinished.fire() }
    }

    /// Adds `count` slots (threads and runners) and widens the prefetch window in proportion
    /// (`pool_grow`), up to ``WorkerConfiguration/maximumConcurrency``. Returns why it did not
    /// (stopping, or the maximum would be passed), `nil` when it grew.
    func growPool(by count: Int) -> String? {
        let perSlot = max(1, configuration.prefetch / configuration.concurrency)
        let maximum = max(configuration.maximumConcurrency, configuration.concurrency)
        let refusal = state.withLock { state -> String? in
            guard state.hasStarted, !state.isStopping else { return "the worker is stopping" }
            guard count >= 1, count <= maximum - state.concurrency else {
                return "growing by \(count) would pass the maximum of \(maximum) slots (--max-concurrency); now \(state.concurrency)"
            }
            state.concurrency += count
            state.prefetch = state.prefetch.addingSaturated(count.multipliedSaturated(by: perSlot))
            state.liveRunners += count
            return nil
        }
        if let refusal { return refusal }
        threadPool.grow(by: count)
        let added = (0..<count).map { _ in Task(executorPreference: threadPool) { await self.runnerLoop() } }
        state.withLock { $0.addedRunners += added }
        logger.info("pool.grown", ["by": "\(count)", "concurrency": "\(state.withLock { $0.concurrency })"])
        return nil
    }

    /// Retires up to `count` slots, never the last one: each stops after its current task; the
    /// prefetch window narrows in proportion (`pool_shrink`). Returns how many will stop.
    func shrinkPool(by count: Int) -> Int {
        let perSlot = max(1, configuration.prefetch / configuration.concurrency)
        let retired = state.withLock { state -> Int in
            let retired = max(0, min(count, state.concurrency - 1))
            state.concurrency -= retired
            state.prefetch = max(1, state.prefetch - retired * perSlot)
            state.retiring += retired
            return retired
        }
        logger.info("pool.shrunk", ["by": "\(retired)", "concurrency": "\(state.withLock { $0.concurrency })"])
        return retired
    }

    /// The slots now (`pool_grow`/`pool_shrink` change them).
    public var currentConcurrency: Int { state.withLock { $0.concurrency } }

    /// The limiter of a task's rate limit, rebuilt when the limit changed.
    func rateLimiter(for task: RegisteredTask) -> RateLimiter? {
        guard let limit = task.settings.rateLimit else { return nil }
        return rateLimiters.withLock { limiters in
            if let (current, limiter) = limiters[task.name], current == limit { return limiter }
            let limiter = RateLimiter(limit)
            limiters[task.name] = (limit, limiter)
            return limiter
        }
    }
}
