import CHiredis
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A serial executor that runs all its jobs on one dedicated OS thread.
///
/// Each ``RedisConnection`` actor runs on one of these, so the blocking hiredis calls it makes park
/// this thread, never one of Swift concurrency's cooperative threads. The thread lives until
/// ``stop()`` (called when the connection is deinitialised), after running every job already queued.
final class DedicatedThreadExecutor: SerialExecutor, @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `isStopping` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var isStopping = false
    /// Mirrors `!jobs.isEmpty`, so the thread can poll for work briefly without the lock.
    private let hasJobs = Atomic<Bool>(false)
    /// How many times the idle thread yields, checking for a new job, before it sleeps. A caller
    /// awaiting one command after another sends the next within microseconds; catching it here
    /// saves a futex wake-up per command. About 10-20 µs of yielding, then sleep.
    private static let idleYields = 40

    init(name: String) {
        // Linux threads inherit their creator's name; name this one after its job.
        let thread = Thread { [self] in
            chiredis_set_thread_name(name)
            runLoop()
        }
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        hasJobs.store(true, ordering: .releasing)
        condition.signal()
        condition.unlock()
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread finish the queued jobs and exit.
    func stop() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        var batch: [UnownedJob] = []
        while true {
            for _ in 0..<Self.idleYields where !hasJobs.load(ordering: .acquiring) {
                sched_yield()
            }
            condition.lock()
            while jobs.isEmpty && !isStopping {
                condition.wait()
            }
            if jobs.isEmpty && isStopping {
                condition.unlock()
                return
            }
            swap(&batch, &jobs)
            hasJobs.store(false, ordering: .relaxed)
            condition.unlock()
            for job in batch {
                job.runSynchronously(on: asUnownedSerialExecutor())
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
