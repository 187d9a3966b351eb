@testable import Celeriac
import Synchronization
import Testing

/// `BatchQueue`: batches in order, and an appender taking the idle consumer's turn.
@Suite struct BatchQueueTests {
    @Test func itemsAppendedWhileTheConsumerIsBusyComeOutAsOneBatch() async {
        let queue = BatchQueue<Int>()
        #expect(queue.append([1, 2]) == 2)
        #expect(queue.append([3]) == 3)
        let first = await queue.next()
        #expect(first?.items == [1, 2, 3])
        #expect(first?.sequence == 3)
        queue.append([4])
        queue.close()
        #expect(await queue.next()?.items == [4])
        #expect(await queue.next() == nil)
        #expect(queue.append([5]) == 4)  // dropped once closed
    }

    @Test func theTurnIsFreeOnlyWhileTheConsumerWaitsWithNothingPending() async {
        let queue = BatchQueue<Int>()
        // No consumer waits yet.
        #expect(queue.claimIdleTurn(count: 1) == nil)
        let taken = Mutex<[[Int]]>([])
        let consumer = Task { () -> [(items: [Int], sequence: Int)] in
            var batches: [(items: [Int], sequence: Int)] = []
            while let batch = await queue.next() {
                batches.append(batch)
                taken.withLock { $0.append(batch.items) }
            }
            return batches
        }
        let claimed = await waitForTurn(queue, count: 2)
        #expect(claimed == 2)
        // Held: nobody else gets it, and what is appended meanwhile waits for the release.
        #expect(queue.claimIdleTurn(count: 1) == nil)
        #expect(queue.append([3]) == 3)
        try? await Task.sleep(for: .milliseconds(100))
        #expect(taken.withLock { $0 }.isEmpty)
        queue.releaseTurn()
        #expect(await eventuallyTrue { taken.withLock { $0 } == [[3]] })
        let batches = await drain(queue, consumer)
        #expect(batches.map(\.items) == [[3]])
        // The claimed items count: the batch after them ends at 3.
        #expect(batches.map(\.sequence) == [3])
    }

    @Test func itemsTheClaimerCouldNotHandleGoFirstInTheNextBatch() async {
        let queue = BatchQueue<Int>()
        let consumer = Task { () -> [(items: [Int], sequence: Int)] in
            var batches: [(items: [Int], sequence: Int)] = []
            while let batch = await queue.next() { batches.append(batch) }
            return batches
        }
        #expect(await waitForTurn(queue, count: 2) == 2)
        queue.append([3, 4])
        queue.releaseTurn(unhandled: [1, 2])
        let batches = await drain(queue, consumer)
        #expect(batches.flatMap(\.items) == [1, 2, 3, 4])
        #expect(batches.last?.sequence == 4)
    }

    /// Claims the turn once the consumer waits (bounded: 5 s).
    private func waitForTurn(_ queue: BatchQueue<Int>, count: Int) async -> Int? {
        for _ in 0..<500 {
            if let sequence = queue.claimIdleTurn(count: count) { return sequence }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Polls `condition` every 10 ms, 5 s at most.
    private func eventuallyTrue(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Closes the queue and returns what the consumer took.
    private func drain(_ queue: BatchQueue<Int>, _ consumer: Task<[(items: [Int], sequence: Int)], Never>) async
        -> [(items: [Int], sequence: Int)]
    {
        queue.close()
        return await consumer.value
    }
}
