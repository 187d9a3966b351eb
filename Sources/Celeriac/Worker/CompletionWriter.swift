import Foundation
import RESP
import Synchronization

/// Writes what running tasks produce – result states and acks – in batches: everything that
/// arrives while one batch is being written goes out in the next, as one pipeline to the backend
/// (states, in order) and one MULTI to the broker (acks). Early acks go out alongside the states;
/// acks-late acks only after them, so such an ack never reaches Redis before its task's state.
/// Chord part returns go in one pipeline after the states, before the acks-late acks.
///
/// Connection errors are retried with backoff until the write succeeds or the writer is closed, so
/// a Redis restart under a busy worker loses nothing.
final class CompletionWriter: Sendable {
    enum Item: Sendable {
        /// Store a state (and publish it).
        case store(TaskResultMeta)
        /// Ack a message that started (early ack): independent of any store.
        case ack(String)
        /// Ack a message after the states queued before it are stored (acks-late, dead letters).
        case ackAfterStores(String)
        /// Return a chord header task's part after the states are stored; `then` gets the
        /// outcome (`nil` when it could not be returned).
        case chordPart(ChordCounter.Part, then: @Sendable (ChordCounter.PartReturn?) -> Void)
    }

    private struct State {
        var written = 0
        var waiters: [(sequence: Int, continuation: CheckedContinuation<Void, Never>)] = []
        var isClosed = false
        var isAbandoned = false
    }

    private let backend: RedisResultBackend
    private let consumer: RedisConsumer
    private let logger: WorkerLogger
    private let queue = BatchQueue<Item>()
    private let state = Mutex(State())
    private let loop = Mutex<Task<Void, Never>?>(nil)

    init(backend: RedisResultBackend, consumer: RedisConsumer, logger: WorkerLogger) {
        self.backend = backend
        self.consumer = consumer
        self.logger = logger
    }

    /// Starts the writing loop.
    func start() {
        let task = Task { await self.run() }
        loop.withLock { $0 = task }
    }

    /// Queues items for the next batch. Returns a sequence number for ``waitUntilWritten(_:)``.
    @discardableResult
    func enqueue(_ items: [Item]) -> Int {
        queue.append(items)
    }

    /// Waits until everything up to `sequence` is written (or the writer was closed).
    func waitUntilWritten(_ sequence: Int) async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if state.written >= sequence || state.isClosed { return true }
                state.waiters.append((sequence, continuation))
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Writes what is queued, then stops the loop. Items enqueued later are not written.
    func close() async {
        if !state.withLock({ $0.isAbandoned }) { await waitUntilWritten(queue.appendedCount) }
        state.withLock { $0.isClosed = true }
        queue.close()
        await loop.withLock { $0 }?.value
        let waiters = state.withLock { state in
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume() }
    }

    /// Stops retrying writes that fail for want of Redis (cold shutdown): ``close()`` then returns
    /// without waiting for Redis. Unwritten acks come back by the visibility timeout.
    func abandon() {
        state.withLock { $0.isAbandoned = true }
    }

    private func run() async {
        while let (batch, sequence) = await queue.next() {
            await write(batch)
            let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.written = sequence
                let ready = state.waiters.filter { $0.sequence <= sequence }.map(\.continuation)
                state.waiters.removeAll { $0.sequence <= sequence }
                return ready
            }
            for continuation in ready { continuation.resume() }
        }
    }

    private func write(_ batch: [Item]) async {
        var metas: [TaskResultMeta] = []
        var earlyTags: [String] = []
        var lateTags: [String] = []
        var parts: [(ChordCounter.Part, @Sendable (ChordCounter.PartReturn?) -> Void)] = []
        for item in batch {
            switch item {
            case .store(let meta): metas.append(meta)
            case .ack(let tag): earlyTags.append(tag)
            case .ackAfterStores(let tag): lateTags.append(tag)
            case .chordPart(let part, let then): parts.append((part, then))
            }
        }
        let (states, early, late) = (metas, earlyTags, lateTags)
        async let stored: Void? = retrying("store \(states.count) task state(s)") { try await self.backend.store(states) }
        async let acked: Void? = retrying("ack \(early.count) message(s)") { try await self.consumer.ack(early) }
        _ = await (stored, acked)
        if !parts.isEmpty {
            let chords = backend.chords
            let requests = parts.map(\.0)
            let outcomes = await retrying("return \(parts.count) chord part(s)") { try await chords.returnParts(requests) }
            for (index, (part, then)) in parts.enumerated() {
                switch outcomes?[index] {
                case .success(let outcome)?:
                    then(outcome)
                case .failure(let error)?:
                    logger.error("chord.part_failed", ["group": part.groupID, "id": part.taskID, "error": "\(error)"])
                    then(nil)
                case nil:
                    then(nil)
                }
            }
        }
        await retrying("ack \(late.count) message(s)") { try await self.consumer.ack(late) }
    }

    /// Runs `operation` until it succeeds; connection errors wait and retry (Redis restarting),
    /// server errors are logged and the items given up (they would fail the same way again).
    /// Returns the operation's value, `nil` when it was given up.
    @discardableResult
    private func retrying<T: Sendable>(_ what: String, _ operation: @Sendable () async throws -> T) async -> T? {
        let backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .seconds(2))
        var failures = 0
        var reported = false
        while !state.withLock({ $0.isAbandoned }) {
            do {
                let value = try await operation()
                if reported { logger.info("redis.reconnected", ["while": what]) }
                return value
            } catch let error as RedisClientError where error.isConnectionError || error.code == .poolExhausted {
                if !reported { logger.warning("redis.unreachable", ["while": what, "error": "\(error)", "action": "retrying"]) }
                reported = true
                try? await Task.sleep(for: backoff.delay(afterFailures: failures))
                failures += 1
            } catch {
                logger.error("write.failed", ["while": what, "error": "\(error)"])
                return nil
            }
        }
        return nil
    }
}
