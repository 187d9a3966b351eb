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
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let logs = LogCollector()
            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "writer-test@host")
            let writer = CompletionWriter(backend: app.backend, consumer: consumer, logger: logs.logger)
            writer.start()
            #expect(try await eventually { writer.canStoreHere })

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
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let logs = LogCollector()
            let consumer = RedisConsumer(pool: app.broker.pool, nodeName: "writer-test@host")
            let writer = CompletionWriter(backend: app.backend, consumer: consumer, logger: logs.logger)
            writer.start()
            #expect(try await eventually { writer.canStoreHere })
            // Enough data that reading it back takes a while (~0.3 s), during which Redis answers
            // `LOADING` to writes, as right after a restart. Saving it first blocks the server for
            // as long again (seconds on a loaded machine): these two connections, both made before,
            // wait that out.
            func patientConnection(database: Int) async throws -> RedisConnection {
                var configuration = try RedisConfiguration(url: server.url(database: database))
                configuration.connectTimeout = .seconds(120)
                configuration.commandTimeout = .seconds(120)
                return try await RedisConnection.connect(configuration)
            }
            let filler = try await patientConnection(database: 2)
            try await filler.send("DEBUG", "POPULATE", 1_000_000)
            let probe = try await patientConnection(database: 3)
            let reload = Task { try await filler.send("DEBUG", "RELOAD") }
            var loading = false
            for _ in 0..<2000 where !loading {
                do {
                    try await probe.send("SET", "probe", "1")
                    try await Task.sleep(for: .milliseconds(2))
                } catch let error as RedisServerError where error.code == "LOADING" {
                    loading = true
                }
            }
            #expect(loading, "Redis never answered LOADING")

            let direct = Self.meta()
            let viaDirect = writer.storeHereIfIdle([.store(direct)])
            let queued = Self.meta()
            let viaLoop = writer.enqueue([.store(queued)])
            #expect(await written(writer, max(viaDirect.sequence, viaLoop)))
            _ = try await reload.value
            for meta in [direct, queued] {
                #expect(try await app.backend.meta(for: meta.taskID)?.state == .success)
            }
            #expect(logs.contains("LOADING"))
            #expect(!logs.contains("write.failed"))
            await filler.close()
            await probe.close()
            await writer.close()
            await app.close()
        }
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
    private func written(_ writer: CompletionWriter, _ sequence: Int) async -> Bool {
        let done = Mutex(false)
        // Left waiting when the item is lost; `close()` resumes it.
        Task {
            await writer.waitUntilWritten(sequence)
            done.withLock { $0 = true }
        }
        return await eventually { done.withLock { $0 } }
    }

    private static func meta() -> TaskResultMeta {
        TaskResultMeta(taskID: CeleryID.random(), state: .success, result: .integer(42), dateDone: Date())
    }
}
