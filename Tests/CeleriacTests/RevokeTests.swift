import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// Revoke: before start, across worker restarts, terminate, and the CLI.
@Suite struct RevokeTests {
    static func countingTask(_ registry: TaskRegistry) throws {
        try registry.register("test.count") { args, _, _ in
            WorkerHarness.counters.increment(args.first?.stringValue ?? "")
            return .null
        }
    }

    @Test func aRevokedTaskNeverStarts() async throws {
        try await withWorker(register: Self.countingTask) { harness in
            let key = UUID().uuidString
            let delayed = try await harness.app.send("test.count", args: [.string(key)], options: TaskOptions(countdown: .seconds(60)))
            #expect(try await eventually { try await harness.redis.zcard("celeriac.scheduled") == 1 })
            try await harness.app.revoke([delayed.id])
            let failure = await #expect(throws: TaskFailure.self) { try await delayed.get(timeout: .seconds(10)) }
            #expect(failure?.type == "TaskRevokedError" && failure?.arguments == ["revoked"])
            #expect(try await harness.app.backend.meta(for: delayed.id)?.fields["children"] == .null)
            // When its ETA comes, the worker discards it.
            try await harness.makeScheduledMessagesDue()
            #expect(await eventually(attempts: 500) { harness.logs.contains("task.revoked id=\(delayed.id)") })
            #expect(WorkerHarness.counters.value(key) == 0)
            #expect(try await harness.redis.zscore("celeriac.revoked", delayed.id) != nil)
        }
    }

    @Test func revokesSurviveWorkerRestartsAndReachLateWorkers() async throws {
        let key = UUID().uuidString
        let id = UUID().uuidString.lowercased()
        try await withRedisServer { server in
            // Revoked while no worker runs (so no broadcast reaches anyone); workers started later
            // refuse it, twice over a restart.
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            try await app.revoke([id])
            _ = try await app.send("test.count", args: [.string(key)], options: TaskOptions(taskID: id))
            await app.close()
            for _ in 0..<2 {
                let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
                let registry = TaskRegistry()
                try Self.countingTask(registry)
                let logs = LogCollector()
                let worker = Worker(app: app, registry: registry, configuration: WorkerConfiguration(concurrency: 1), logger: logs.logger)
                let running = Task { try await worker.run() }
                let marker = try await app.send("test.count", args: ["marker"])
                _ = try await marker.get(timeout: .seconds(10))
                worker.shutdown()
                try await running.value
                let failure = await #expect(throws: TaskFailure.self) { try await app.asyncResult(id).get(timeout: .seconds(5)) }
                #expect(failure?.arguments == ["revoked"])
                // The next worker gets another copy: it is refused as well.
                _ = try await app.send("test.count", args: [.string(key)], options: TaskOptions(taskID: id))
                await app.close()
            }
            #expect(WorkerHarness.counters.value(key) == 0)
        }
    }

    @Test func terminateStopsARunningTask() async throws {
        try await withWorker { harness in
            let long = try await harness.app.send("celeriac.examples.sleep", args: [30])
            #expect(await eventually { harness.worker.activeTaskIDs.contains(long.id) })
            try await harness.app.revoke([long.id], terminate: true)
            let failure = await #expect(throws: TaskFailure.self) { try await long.get(timeout: .seconds(10)) }
            #expect(failure?.type == "TaskRevokedError" && failure?.arguments == ["terminated"])
            // The runner lets go of it right after storing the state (which a lone task's runner
            // does itself, so `get()` may return first).
            #expect(await eventually { harness.worker.activeTaskIDs.isEmpty })
            // The worker goes on.
            #expect(try await harness.app.send("celeriac.examples.add", args: [1, 1]).get(timeout: .seconds(10)) == 2)
        }
    }

    @Test func theRevokeCommand() async throws {
        let celeriac = CommandRunner.productsDirectory.appendingPathComponent("celeriac")
        try await withRedisServer { server in
            let environment: [String: String?] = ["CELERIAC_BROKER_URL": server.url(database: 0), "CELERIAC_RESULT_BACKEND": server.url(database: 1)]
            let plain = try await CommandRunner.run(celeriac, ["revoke", "id-1", "id-2"], environment: environment)
            #expect(plain.status == 0, "\(plain.standardError)")
            #expect(plain.standardOutput == "revoked id-1\nrevoked id-2\n")
            let json = try await CommandRunner.run(celeriac, ["revoke", "id-3", "--terminate", "--json"], environment: environment)
            #expect(json.standardOutput == "[\"id-3\"]\n")
            let redis = try await RedisConnection.connect(url: server.url())
            #expect(try await redis.zcard("celeriac.revoked") == 3)
            await redis.close()
        }
        #expect(try await CommandRunner.run(celeriac, ["revoke"]).status == 2)
        let unreachable = try await CommandRunner.run(celeriac, ["revoke", "x", "--broker", "redis://127.0.0.1:1/0"])
        #expect(unreachable.status == 1)
        #expect(unreachable.standardError.split(separator: "\n").count == 1)
    }
}
