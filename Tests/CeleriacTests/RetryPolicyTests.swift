import Celeriac
import RESP
import Synchronization
import Testing

/// The one retry policy type and its presets, without Redis.
@Suite struct RetryPolicyTests {
    private let lost = RedisClientError(.connectionClosed, "lost")
    private let refused = RedisClientError(.connectionFailed, "refused")
    private let loading = RedisServerError(message: "LOADING Redis is loading the dataset in memory")
    private let wrongType = RedisServerError(message: "WRONGTYPE wrong kind of value")

    @Test func celerysPublishPolicyWaitsLinearlyAndRetriesOnlyWhatWasNotSent() {
        let policy = RetryPolicy.publish
        #expect(policy.delay(after: refused, failures: 1, elapsed: .zero) == .zero)
        #expect(policy.delay(after: refused, failures: 2, elapsed: .zero) == .milliseconds(200))
        #expect(policy.delay(after: refused, failures: 3, elapsed: .zero) == .milliseconds(200))
        #expect(policy.delay(after: refused, failures: 4, elapsed: .zero) == nil)  // 3 retries
        #expect(policy.delay(after: loading, failures: 1, elapsed: .zero) != nil)
        // A connection lost mid-command may have published: never sent twice.
        #expect(policy.delay(after: lost, failures: 1, elapsed: .zero) == nil)
        #expect(policy.delay(after: wrongType, failures: 1, elapsed: .zero) == nil)
        #expect(RetryPolicy(maxRetries: 0).delay(after: refused, failures: 1, elapsed: .zero) == nil)
        #expect(RetryPolicy(maxRetries: -5).budget == .retries(0))
    }

    @Test func theWorkerLoopsRetryTemporaryFailuresForEver() {
        for failures in [1, 2, 10, 1_000, Int.max] {
            let wait = RetryPolicy.workerLoop.delay(after: lost, failures: failures, elapsed: .seconds(86_400))
            #expect(wait.map { $0 >= .zero && $0 <= .seconds(2) } == true)
        }
        #expect(RetryPolicy.workerLoop.delay(after: wrongType, failures: 1, elapsed: .zero) == nil)
        // The fetch loop reconnects after anything, even a reply it could not read.
        let protocolError = RedisClientError(.protocolError, "a bulk string passes the limit")
        #expect(RetryPolicy.fetchLoop.delay(after: protocolError, failures: 3, elapsed: .zero) != nil)
        #expect(RetryPolicy.fetchLoop.delay(after: CancellationError(), failures: 1, elapsed: .zero) == nil)
    }

    @Test func budgetsEnd() {
        #expect(RetryPolicy.chordStep.delay(after: lost, failures: 40, elapsed: .zero) != nil)
        #expect(RetryPolicy.chordStep.delay(after: lost, failures: 41, elapsed: .zero) == nil)
        let read = RetryPolicy.resultRead(until: .seconds(1))
        #expect(read.delay(after: lost, failures: 1, elapsed: .milliseconds(900)) == .milliseconds(50))
        #expect(read.delay(after: lost, failures: 1, elapsed: .milliseconds(960)) == nil)
        #expect(RetryPolicy.resultRead(until: nil).budget == .forever)
    }

    @Test func linearWaitsAreBoundedForAnyCount() {
        let waits = RetryPolicy.Waits.linear(start: .milliseconds(10), step: .milliseconds(10), maximum: .seconds(1))
        #expect(waits.delay(afterFailures: 1) == .milliseconds(10))
        #expect(waits.delay(afterFailures: 3) == .milliseconds(30))
        #expect(waits.delay(afterFailures: Int.max) == .seconds(1))
        #expect(waits.delay(afterFailures: Int.min) == .milliseconds(10))
    }

    @Test func runRetriesUntilItSucceedsOrGivesUp() async throws {
        let policy = RetryPolicy(waits: .linear(start: .zero, step: .zero, maximum: .zero), budget: .retries(2), retryable: .temporaryFailures)
        let tries = Mutex(0)
        let heard = Mutex<[Int]>([])
        let value = try await policy.run({
            let count = tries.withLock { $0 += 1; return $0 }
            if count < 3 { throw lost }
            return count
        }, onRetry: { _, failures in heard.withLock { $0.append(failures) } })
        #expect(value == 3)
        #expect(heard.withLock { $0 } == [1, 2])

        tries.withLock { $0 = 0 }
        await #expect(throws: RedisClientError.self) {
            try await policy.run { tries.withLock { $0 += 1 }; throw lost }
        }
        #expect(tries.withLock { $0 } == 3)
        // Not retried: thrown at once; stopping: thrown at once.
        tries.withLock { $0 = 0 }
        await #expect(throws: RedisServerError.self) { try await policy.run { tries.withLock { $0 += 1 }; throw wrongType } }
        await #expect(throws: RedisClientError.self) {
            try await policy.run({ tries.withLock { $0 += 1 }; throw lost }, stopping: { true })
        }
        #expect(tries.withLock { $0 } == 2)
    }
}
