@testable import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Synchronization
import Testing

/// The worker's `CompletionWriter`: a finished task's thread stores its result itself while the
/// writer's loop is idle, and nothing is lost when that connection fails.
@Suite struct CompletionWriterTests {
    @Test func anIdleWritersResultsAreStoredByTheCallerAndSurviveALostConnection() async throws {
        try await withRedisServer { server in
            let (app, writer, logs) = try await startedWriter(on: server)

            // Idle writer: stored on this thread, readable as soon as the call returns.
            let stored = try await storeUntilStoredHere(writer, app: app)
            #expect(stored)

            // States followed by an acks-late ack keep the loop's ordering: queued.
            let late = Self.meta()
            let submission = writer.storeHereIfIdle([.store(late), .ackAfterStores("no-such-tag")])
            guard case .queued(let sequence) = submission else {
                Issue.record("an acks-late batch was stored by the caller: \(submission)")
                return
            }
            #expect(await written(writer, sequence))
            #expect(try await app.backend.meta(for: late.taskID)?.state == .success)

            // Every connection is killed: the caller's store fails and the loop stores it instead.
            let admin = try await RedisConnection.connect(url: server.url())
            try await admin.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            let orphan = Self.meta()
            let afterKill = writer.storeHereIfIdle([.store(orphan)])
            #expect(afterKill == .queued(sequence: afterKill.sequence))
            #expect(await written(writer, afterKill.sequence))
            #expect(try await app.backend.meta(for: orphan.taskID)?.state == .success)
            #expect(logs.contains("write.direct_failed"))

            // The loop connects a new one (at most once a second): callers store again.
            #expect(try await storeUntilStoredHere(writer, app: app))
            await admin.close()
            await writer.close()
            await app.close()
        }
    }

    @Test func statesWrittenWhileRedisLoadsItsDataAreRetriedNotDropped() async throws {
        try await withRedisServer(extraArguments: ["--enable-debug-command", "yes"]) { server in
            let (app, writer, logs) = try await startedWriter(on: server)
            let loading = try await RedisLoadingPhase.begin(on: server)

            let direct = Self.meta()
            let viaDirect = writer.storeHereIfIdle([.store(direct)])
            let queued = Self.meta()
            let viaLoop = writer.enqueue([.store(queued)])
            // Loading lasts seconds (more on a loaded machine), then the writer's backoff up to 2 s.
            #expect(await written(writer, max(viaDirect.sequence, viaLoop), attempts: 1500))
            try await loading.end()
            for meta in [direct, queued] {
                #expect(try await app.backend.meta(for: meta.taskID)?.state == .success)
            }
            #expect(logs.contains("LOADING"))
            #expect(!logs.contains("write.failed"))
            await writer.close()
            await app.close()
        }
    }

    /// An app on `server` (broker database 0, backend 1) and its started writer, once the writer
    /// has connected the connection callers store on; its log lines go to the collector.
    private func startedWriter(on server: RedisServerProcess) async throws -> (CeleriacApp, CompletionWriter, LogCollector) {
        let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        let logs = LogCollector()
        let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "writer-test@host")
        let writer = CompletionWriter(backend: app.backend, consumer: consumer, logger: logs.logger)
        writer.start()
        #expect(try await eventually { writer.canStoreHere })
        return (app, writer, logs)
    }

    /// Submits fresh SUCCESS states until one is stored by the caller (the loop may be between
    /// batches at first), bounded by ~5 s; checks it is in Redis the moment the call returns.
    private func storeUntilStoredHere(_ writer: CompletionWriter, app: CeleriacApp) async throws -> Bool {
        for _ in 0..<250 {
            let meta = Self.meta()
            let submission = writer.storeHereIfIdle([.store(meta)])
            if case .storedHere = submission {
                let read = try await app.backend.meta(for: meta.taskID)
                #expect(read?.state == .success)
                return true
            }
            guard await written(writer, submission.sequence) else { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Whether everything up to `sequence` is written within ~5 s (a lost item would make an
    /// unbounded wait hang the test).
    private func written(_ writer: CompletionWriter, _ sequence: Int, attempts: Int = 250) async -> Bool {
        let done = Mutex(false)
        // Left waiting when the item is lost; `close()` resumes it.
        Task {
            await writer.waitUntilWritten(sequence)
            done.withLock { $0 = true }
        }
        return await eventually(attempts: attempts) { done.withLock { $0 } }
    }

    private static func meta() -> TaskResultMeta {
        TaskResultMeta(taskID: CeleryID.random(), state: .success, result: .integer(42), dateDone: Date())
    }
}
