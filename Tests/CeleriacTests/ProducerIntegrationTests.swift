import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// The producer, broker and result backend against a private redis-server.
@Suite struct ProducerIntegrationTests {
    @Test func publishesWhereKombuLooks() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            defer { Task { await app.close() } }
            let redis = try await RedisConnection.connect(url: server.url(database: 0))

            let sent = try await app.send("celeriac.examples.add", args: [2, 3])
            let raw = try #require(try await redis.rpop("celery"))
            let message = try TaskMessage(decoding: raw)
            #expect(message.id == sent.id)
            #expect(message.taskName == "celeriac.examples.add")
            #expect(message.args == [2, 3])
            #expect(message.headers["argsrepr"] == "[2, 3]")
            #expect(message.headers["origin"]?.stringValue?.hasPrefix("gen") == true)
            #expect(try await redis.smembers("_kombu.binding.celery") == [Array("celery\u{06}\u{16}\u{06}\u{16}celery".utf8)])
            #expect(try await redis.smembers("_kombu.binding_permanent.celery").count == 1)

            try await app.send("t", options: TaskOptions(queue: "jobs", priority: 6))
            try await app.send("t", options: TaskOptions(queue: "jobs", priority: 9))
            try await app.send("t", options: TaskOptions(queue: "jobs", priority: 1))
            #expect(try await redis.llen("jobs") == 1)
            #expect(try await redis.llen("jobs\u{06}\u{16}6") == 1)
            #expect(try await redis.llen("jobs\u{06}\u{16}9") == 1)
            #expect(try await redis.smembers("_kombu.binding.jobs") == [Array("jobs\u{06}\u{16}\u{06}\u{16}jobs".utf8)])
        }
    }

    @Test func sendManyIsOnePipeline() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let messages = (0..<500).map { app.message("celeriac.examples.noop", args: [.integer($0)]) }
            let results = try await app.sendMany(messages)
            #expect(Set(results.map(\.id)).count == 500)
            let redis = try await RedisConnection.connect(url: server.url())
            #expect(try await redis.llen("celery") == 500)
            // FIFO for a consumer that pops from the right, as kombu's BRPOP does.
            let first = try TaskMessage(decoding: try #require(try await redis.rpop("celery")))
            #expect(first.args == [0])
        }
    }

    /// A batch across queues and priorities, larger than one pipeline chunk: each message lands
    /// on its list as exactly the bytes `encoded()` gives, in order, and new queues are declared.
    @Test func sendManyWritesEachMessageToItsList() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let messages = (0..<300).map { index in
                app.message(
                    "celeriac.examples.xsum", args: [.array((0..<index % 40).map { .integer($0) })],
                    options: TaskOptions(queue: index % 2 == 0 ? "even" : "odd", priority: index % 10))
            }
            try await app.sendMany(messages)
            let redis = try await RedisConnection.connect(url: server.url())
            for queue in ["even", "odd"] {
                #expect(try await redis.smembers("_kombu.binding.\(queue)").count == 1)
                for list in QueueKeys.listKeys(queue: queue) {
                    let expected = messages.filter { QueueKeys.listKey(queue: $0.queue, priority: $0.priority) == list }
                    let stored = try await redis.send("LRANGE", list, 0, -1).array?.compactMap(\.bytes) ?? []
                    #expect(stored == expected.reversed().map { $0.encoded() }, "list \(list.debugDescription)")
                }
            }
        }
    }

    /// Right after a restart Redis refuses writes with `LOADING` for a while: publishing retries
    /// them (kombu does, redis-py's `BusyLoadingError` being a connection error) as long as the
    /// retry policy allows, and without retries the refusal is the error thrown.
    @Test func publishingRetriesWhileRedisLoadsItsData() async throws {
        try await withRedisServer(extraArguments: ["--enable-debug-command", "yes"]) { server in
            let patient = PublishRetryPolicy(
                maxRetries: 500, intervalStart: .milliseconds(20), intervalStep: .zero, intervalMax: .milliseconds(20))
            let app = try CeleriacApp(brokerURL: server.url(), publishRetry: patient)
            let impatient = try CeleriacApp(brokerURL: server.url(), publishRetry: PublishRetryPolicy(maxRetries: 0))
            defer { Task { await app.close(); await impatient.close() } }
            let redis = try await RedisConnection.connect(url: server.url())  // (before: saving blocks connects)
            let loading = try await RedisLoadingPhase.begin(on: server)

            let refused = await #expect(throws: RedisServerError.self) {
                try await impatient.send("celeriac.examples.noop", options: TaskOptions(queue: "refused"))
            }
            #expect(refused?.code == "LOADING")
            // A new queue: its binding is declared first, through the same retries.
            let messages = (0..<100).map { _ in app.message("celeriac.examples.noop", options: TaskOptions(queue: "reloaded")) }
            try await app.sendMany(messages)
            try await loading.end()
            #expect(try await redis.llen("reloaded") == 100)
            #expect(try await redis.smembers("_kombu.binding.reloaded").count == 1)
            #expect(try await redis.llen("refused") == 0)
        }
    }

    @Test func typedTasksSendKeywordArguments() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let result = try await app.send(Add.self, .init(x: 2, y: 3))
            let redis = try await RedisConnection.connect(url: server.url())
            let message = try TaskMessage(decoding: try #require(try await redis.rpop("celery")))
            #expect(message.id == result.id)
            #expect(message.args == [])
            #expect(message.kwargs == ["x": 2, "y": 3])
            #expect(message.headers["kwargsrepr"] == "{'x': 2, 'y': 3}")

            // A worker's SUCCESS comes back typed.
            try await app.backend.store(TaskResultMeta(taskID: result.id, state: .success, result: 5, dateDone: Date()))
            #expect(try await result.get(timeout: .seconds(5)) == 5)
        }
    }

    @Test func resultStatesThroughAsyncResult() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            defer { Task { await app.close() } }
            let backend = app.backend
            let result = app.asyncResult("task-1")
            #expect(try await result.state() == .pending)
            #expect(try await result.info() == .null)

            try await backend.store(TaskResultMeta(taskID: "task-1", state: "PROGRESS", result: ["current": 1, "total": 3]))
            #expect(try await result.state() == "PROGRESS")
            #expect(try await result.info() == ["current": 1, "total": 3])
            #expect(try await !result.ready())

            #expect(try await backend.store(TaskResultMeta(taskID: "task-1", state: .success, result: 42, dateDone: Date())))
            // SUCCESS is never overwritten, not even by a late state change.
            #expect(try await !backend.store(TaskResultMeta(taskID: "task-1", state: .started, result: nil)))
            #expect(try await result.successful())
            #expect(try await result.get(timeout: .seconds(1)) == 42)

            let redis = try await RedisConnection.connect(url: server.url(database: 1))
            let ttl = try #require(try await redis.timeToLive("celery-task-meta-task-1"))
            #expect(ttl > .seconds(86_000) && ttl <= .seconds(86_400))
            // A batch (one SET ... GET per state) keeps the SUCCESS and stores the rest.
            try await backend.store([
                TaskResultMeta(taskID: "task-1", state: .retry, result: nil),
                TaskResultMeta(taskID: "task-2", state: "PROGRESS", result: ["current": 2]),
            ])
            #expect(try await result.get(timeout: .seconds(1)) == 42)
            #expect(try await app.asyncResult("task-2").info() == ["current": 2])

            try await result.forget()
            #expect(try await result.state() == .pending)
        }
    }

    /// Typed handles read as untyped ones do; state and info come in one read; groups and chords
    /// decode their results.
    @Test func typedResultsAndOneReadOfStateAndInfo() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let backend = app.backend
            let typed = TypedAsyncResult<Int>(untyped: app.asyncResult("t-1"))
            #expect(try await typed.meta().state == .pending)
            #expect(try await typed.meta().result == .null)
            #expect(try await !typed.ready())
            try await backend.store(TaskResultMeta(taskID: "t-1", state: "PROGRESS", result: ["current": 1]))
            let progress = try await typed.meta()
            #expect(progress.state == "PROGRESS" && progress.result == ["current": 1])
            #expect(try await typed.info() == ["current": 1])
            try await backend.store(TaskResultMeta(taskID: "t-1", state: .success, result: 7, dateDone: Date()))
            #expect(try await typed.ready())
            #expect(try await typed.successful())
            #expect(try await typed.get(timeout: .seconds(1)) == 7)
            #expect(try await typed.meta().dateDone != nil)
            try await typed.forget()
            #expect(try await typed.state() == .pending)

            for (id, value) in [("g-1", 1), ("g-2", 2), ("body", 3)] {
                try await backend.store(TaskResultMeta(taskID: id, state: .success, result: .integer(value), dateDone: Date()))
            }
            let group = GroupResult(id: "g", results: [app.asyncResult("g-1"), app.asyncResult("g-2")], backend: backend)
            #expect(try await group.get(as: Int.self, timeout: .seconds(1)) == [1, 2])
            let chord = ChordResult(body: app.asyncResult("body"), header: group)
            #expect(try await chord.get(as: Int.self, timeout: .seconds(1)) == 3)
            #expect(try await CanvasResult.group(group).get(as: [Int].self, timeout: .seconds(1)) == [1, 2])
            let error = await #expect(throws: CeleriacError.self) { _ = try await chord.get(as: String.self) }
            #expect(error?.code == .encoding)
        }
    }

    @Test func failuresAndRevocationsAreTypedErrors() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let failure = TaskFailure(type: "ValueError", message: "boom", traceback: "Traceback ...")
            try await app.backend.store(TaskResultMeta(
                taskID: "f", state: .failure, result: failure.storedValue, traceback: failure.traceback, dateDone: Date()))
            let error = await #expect(throws: TaskFailure.self) { try await app.asyncResult("f").get(timeout: .seconds(1)) }
            #expect(error?.description == "ValueError('boom')")
            #expect(error?.traceback == "Traceback ...")

            let revoked = TaskFailure(type: "TaskRevokedError", module: "celery.exceptions", message: "expired")
            try await app.backend.store(TaskResultMeta(taskID: "r", state: .revoked, result: revoked.storedValue, dateDone: Date()))
            let revokedError = await #expect(throws: TaskFailure.self) { try await app.asyncResult("r").get() }
            #expect(revokedError?.type == "TaskRevokedError")
        }
    }

    @Test func getTimesOutWithAClearError() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let error = await #expect(throws: CeleriacError.self) {
                try await app.asyncResult("never").get(timeout: .milliseconds(200))
            }
            #expect(error?.code == .timeout)
            #expect(error?.message.contains("state PENDING") == true)
        }
    }

    /// The result arrives at any moment relative to the waiter's subscription: no waiter may miss it.
    @Test func getNeverMissesAResult() async throws {
        try await withRedisServer { server in
            // A long acquire timeout: 100 waiters share 8 connections, slowly on a loaded machine.
            let app = try CeleriacApp(brokerURL: server.url(), pool: .init(acquireTimeout: .seconds(60)))
            defer { Task { await app.close() } }
            try await withThrowingTaskGroup(of: JSONValue.self) { group in
                for index in 0..<100 {
                    let id = "race-\(index)"
                    group.addTask { try await app.asyncResult(id).get(timeout: .seconds(20)) }
                    group.addTask {
                        try await app.backend.store(TaskResultMeta(
                            taskID: id, state: .success, result: .integer(index), dateDone: Date()))
                        return .null
                    }
                }
                var values: [Int] = []
                for try await value in group where value != .null { values.append(value.intValue ?? -1) }
                #expect(values.sorted() == Array(0..<100))
            }
        }
    }

    /// Redis restarts while a caller waits: the subscriber comes back, reads the key again, and the
    /// result stored after the restart is delivered.
    @Test func getSurvivesARedisRestart() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url())
            defer { Task { await app.close() } }
            let waiting = Task { try await app.asyncResult("restart").get(timeout: .seconds(30)) }
            let observer = try await RedisConnection.connect(url: server.url())
            #expect(await eventually {
                (try? await observer.send("PUBSUB", "NUMSUB", "celery-task-meta-restart").array?.last?.int) == 1
            })
            await server.kill()
            try await server.restart()
            // Stored the way a worker stores it (SETEX + PUBLISH), through the same app's pool,
            // whose connections all died with the server.
            var stored = false
            for _ in 0..<20 where !stored {
                do {
                    stored = try await app.backend.store(TaskResultMeta(
                        taskID: "restart", state: .success, result: "back", dateDone: Date()))
                } catch let error as RedisClientError where error.isConnectionError {
                    Issue.record("store failed after the restart: \(error)")
                }
            }
            #expect(try await waiting.value == "back")
        }
    }
}
