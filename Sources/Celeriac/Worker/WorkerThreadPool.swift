import Foundation

/// A task executor with its own OS threads, one per concurrency slot, on which a worker runs task
/// bodies.
///
/// Task code that blocks its thread (a synchronous library call, `sleep`, heavy CPU work) then
/// blocks only these threads: the worker's own loops (fetching, storing results, acking,
/// sweeping) run on Swift's cooperative pool and the Redis connections on their own threads, so
/// they keep going. Async task code runs here too and may interleave on these threads as usual.
final class WorkerThreadPool: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs`, `isStopping` and `threadCount` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var isStopping = false
    private var threadCount = 0
    private let name: String

    /// Starts `threads` threads named `name`.
    init(threads: Int, name: String) {
        self.name = name
        grow(by: max(1, threads))
    }

    /// Adds threads (for `pool_grow`).
    func grow(by count: Int) {
        condition.lock()
        threadCount += count
        condition.unlock()
        for _ in 0..<count {
            let thread = Thread { [self] in runLoop() }
            thread.name = name
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the threads run the jobs already queued, then exit.
    func stop() {
        condition.lock()
        isStopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func runLoop() {
        while true {
            condition.lock()
            while head == jobs.count && !isStopping {
                condition.wait()
            }
            if head == jobs.count {
                threadCount -= 1
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 4096 {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
