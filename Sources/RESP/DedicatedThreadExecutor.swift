import CHiredis
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An executor that runs all its jobs on one dedicated OS thread: the serial executor of
/// ``RedisConnection`` actors, and a task executor for code that talks to them.
///
/// Each ``RedisConnection`` runs on one of these, so the blocking hiredis calls it makes park this
/// thread, never one of Swift concurrency's cooperative threads. A loop that mostly awaits one
/// connection can run on the connection's thread too: connect with
/// ``RedisConnection/connect(_:on:)`` and start the loop with
/// `Task(executorPreference: thread)`. Its code and the connection's commands then take turns on
/// one thread, and an awaited command costs no switch between threads (about 14 µs each way
/// otherwise, measured on the development machine).
///
/// The thread lives until ``stop()`` (called when a connection that made its own thread is
/// deinitialised), after running every job already queued.
public final class DedicatedThreadExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
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

    /// Starts a thread named `name` (at most 15 bytes show in `top` and `ps`).
    public init(name: String) {
        // Linux threads inherit their creator's name; name this one after its job.
        let thread = Thread { [self] in
            chiredis_set_thread_name(name)
            runLoop()
        }
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        hasJobs.store(true, ordering: .releasing)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }

    /// Lets the thread finish the queued jobs and exit.
    public func stop() {
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
                // Every job runs as both: an actor's job knows this is its task's preferred
                // executor, and a preferring task's code counts as on the actors' executor, so
                // its calls into them run inline instead of being queued again.
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
