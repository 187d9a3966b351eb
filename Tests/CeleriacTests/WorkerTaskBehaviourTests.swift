import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// Per-task behaviour: retries, time limits, rate limits, results, callbacks, blocking work.
@Suite struct WorkerTaskBehaviourTests {
    struct Flaky: Error {}

    @Test func retriesKeepTheIdAndStoreRetryStates() async throws {
        try await withWorker(register: { registry in
            try registry.register("test.retry_twice") { args, _, context in
                guard context.retries >= 2 else {
                    throw context.retry(countdown: .milliseconds(100), error: TaskFailure(type: "RuntimeError", message: "attempt \(context.retries)"))
                }
                return .integer(context.retries)
            }
            try registry.register("test.always_retry", settings: TaskSettings(maxRetries: 1)) { _, _, context in
                throw context.retry(countdown: .milliseconds(50), error: TaskFailure(type: "RuntimeError", message: "again"))
            }
        }) { harness in
            let result = try await harness.app.send("test.retry_twice")
            var sawRetry = false
            let finished = try await eventually(attempts: 500) {
                let meta = try await harness.app.backend.meta(for: result.id)
                if meta?.state == .retry {
                    sawRetry = true
                    #expect(meta?.failure?.type == "RuntimeError")
                    #expect(meta?.fields["children"] == [[[.string(result.id), nil], nil]])
                }
                return meta?.state == .success
            }
            #expect(finished)
            #expect(try await result.get(timeout: .seconds(5)) == 2)
            #expect(sawRetry || harness.logs.contains("task.retried id=\(result.id)"))
            #expect(harness.logs.all.filter { $0.contains("task.retried id=\(result.id)") }.count == 2)

            // One retry allowed, then the cause is the failure.
            let exhausted = try await harness.app.send("test.always_retry")
            let failure = await #expect(throws: TaskFailure.self) { try await exhausted.get(timeout: .seconds(10)) }
            #expect(failure?.type == "RuntimeError")
            #expect(failure?.arguments == ["again"])
        }
    }

    @Test func autoretryBacksOffAndGivesUpAfterMaxRetries() async throws {
        let policy = AutoRetryPolicy(for: [Flaky.self], backoff: .milliseconds(20), backoffMax: .milliseconds(100))
        try await withWorker(register: { registry in
            try registry.register("test.flaky", settings: TaskSettings(maxRetries: 2, autoretry: policy)) { args, _, context in
                WorkerHarness.counters.increment(args.first?.stringValue ?? "")
                throw Flaky()
            }
        }) { harness in
            let key = UUID().uuidString
            let result = try await harness.app.send("test.flaky", args: [.string(key)])
            let failure = await #expect(throws: TaskFailure.self) { try await result.get(timeout: .seconds(10)) }
            #expect(failure?.type == "Flaky")
            #expect(failure?.module == "celeriac")
            #expect(WorkerHarness.counters.value(key) == 3)
        }
        // Exponential, capped, fully jittered.
        #expect(policy.countdown(afterRetries: 0, defaultDelay: .seconds(180), random: { $0.upperBound }) == .milliseconds(20))
        #expect(policy.countdown(afterRetries: 2, defaultDelay: .seconds(180), random: { $0.upperBound }) == .milliseconds(80))
        #expect(policy.countdown(afterRetries: 9, defaultDelay: .seconds(180), random: { $0.upperBound }) == .milliseconds(100))
        #expect(policy.countdown(afterRetries: 9, defaultDelay: .seconds(180), random: { $0.lowerBound }) == .zero)
    }

    @Test func softAndHardTimeLimits() async throws {
        try await withWorker(register: { registry in
            try registry.register("test.stubborn", settings: TaskSettings(timeLimit: .milliseconds(300))) { _, _, _ in
                // Ignores cancellation entirely.
                let until = Date().addingTimeInterval(2)
                while Date() < until { usleep(10_000) }
                return "late"
            }
        }) { harness in
            // The message's timelimit header: [hard, soft].
            let soft = try await harness.app.send(
                "celeriac.examples.sleep", args: [5], options: TaskOptions(softTimeLimit: .milliseconds(200)))
            let softFailure = await #expect(throws: TaskFailure.self) { try await soft.get(timeout: .seconds(10)) }
            #expect(softFailure?.type == "SoftTimeLimitExceeded")
            #expect(softFailure?.module == "celery.exceptions")

            let hard = try await harness.app.send("test.stubborn")
            let hardFailure = await #expect(throws: TaskFailure.self) { try await hard.get(timeout: .seconds(10)) }
            #expect(hardFailure?.type == "TimeLimitExceeded")
            // The worker still serves.
            #expect(try await harness.app.send("celeriac.examples.add", args: [1, 1]).get(timeout: .seconds(10)) == 2)
        }
    }

    @Test func rateLimitSpacesStarts() async throws {
        #expect(try RateLimit(parsing: "10/s") == RateLimit(count: 10, per: .seconds(1)))
        #expect(try RateLimit(parsing: "100/m").spacing == .milliseconds(600))
        #expect(try RateLimit(parsing: "5/h").description == "5/h")
        #expect(try RateLimit(parsing: "4").spacing == .milliseconds(250))
        #expect(throws: CeleriacError.self) { try RateLimit(parsing: "10/d") }
        #expect(throws: CeleriacError.self) { try RateLimit(parsing: "fast") }
        #expect(throws: CeleriacError.self) { try RateLimit(parsing: "0/s") }

        let settings = TaskSettings(rateLimit: try RateLimit(parsing: "10/s"))
        try await withWorker(register: { registry in
            try registry.register("test.limited", settings: settings) { _, _, _ in .double(Date().timeIntervalSince1970) }
        }) { harness in
            let results = try await harness.app.sendMany((0..<5).map { _ in harness.app.message("test.limited") })
            var starts: [Double] = []
            for result in results { starts.append(try #require(try await result.get(timeout: .seconds(10)).doubleValue)) }
            starts.sort()
            // Behaviour, not speed: five starts at 10/s cannot fit in less than 0.4 s.
            #expect(try #require(starts.last) - starts[0] >= 0.38)
        }
    }

    @Test func ignoreResultAndTrackStarted() async throws {
        try await withWorker(register: { registry in
            try registry.register("test.quiet", settings: TaskSettings(ignoreResult: true)) { _, _, context in
                try await context.updateState("PROGRESS", meta: ["x": 1])
                return 1
            }
            try registry.register("test.tracked", settings: TaskSettings(trackStarted: true)) { _, _, _ in
                try await Task.sleep(for: .seconds(2))
                return 2
            }
        }) { harness in
            let quiet = try await harness.app.send("test.quiet")
            let tracked = try await harness.app.send("test.tracked")
            #expect(try await eventually { try await tracked.state() == .started })
            let started = try await tracked.info()
            #expect(started["hostname"]?.stringValue == harness.worker.configuration.hostname)
            #expect(started["pid"]?.intValue == Int(ProcessInfo.processInfo.processIdentifier))
            #expect(try await tracked.get(timeout: .seconds(10)) == 2)
            #expect(harness.logs.contains("task.succeeded id=\(quiet.id)"))
            #expect(try await quiet.state() == .pending)
            // The message header wins over the task's setting.
            let ignored = try await harness.app.send("celeriac.examples.add", args: [1, 2], options: TaskOptions(ignoreResult: true))
            #expect(await eventually { harness.logs.contains("task.succeeded id=\(ignored.id)") })
            #expect(try await ignored.state() == .pending)
        }
    }

    @Test func linkAndLinkErrorArePublishedLikeCelery() async throws {
        try await withWorker { harness in
            let callback = Signature(task: "celeriac.examples.mul", args: [10], options: ["task_id": "11111111-1111-4111-8111-111111111111"])
            let errback = Signature(task: "celeriac.examples.xsum", args: [], immutable: false)
            let parent = try await harness.app.send(
                "celeriac.examples.add", args: [2, 2], options: TaskOptions(link: [callback.jsonValue]))
            #expect(try await parent.get(timeout: .seconds(10)) == 4)
            let child = harness.app.asyncResult("11111111-1111-4111-8111-111111111111")
            #expect(try await child.get(timeout: .seconds(10)) == 40)
            let parentMeta = try #require(try await harness.app.backend.meta(for: parent.id))
            #expect(parentMeta.fields["children"] == [[["11111111-1111-4111-8111-111111111111", nil], nil]])
            let childMeta = try #require(try await harness.app.backend.meta(for: child.id))
            #expect(childMeta.fields["parent_id"] == .string(parent.id))

            // On failure, errbacks get the failed task's id (here xsum of [id] fails: a TypeError).
            let failing = try await harness.app.send(
                "celeriac.examples.fail", args: ["x"], options: TaskOptions(linkError: [errback.jsonValue]))
            _ = try? await failing.get(timeout: .seconds(10))
            #expect(await eventually { harness.logs.contains("name=celeriac.examples.xsum") })
        }
    }

    @Test func blockingTasksDoNotStopTheWorkersOwnWork() async throws {
        // Two slots, both blocked in a synchronous call: fetching and result writing go on.
        try await withWorker(WorkerConfiguration(concurrency: 2, prefetch: 8), register: { registry in
            try registry.register("test.block") { _, _, _ in
                usleep(3_000_000)
                return "unblocked"
            }
        }) { harness in
            let blockers = try await harness.app.sendMany((0..<2).map { _ in harness.app.message("test.block") })
            #expect(await eventually { harness.worker.activeTaskIDs.count == 2 })
            let queued = try await harness.app.sendMany((0..<5).map { harness.app.message("celeriac.examples.add", args: [.integer($0), 0]) })
            // While both slots block, the worker still fetches the new messages into its window.
            #expect(try await eventually(attempts: 100) {
                let waiting = try await harness.redis.llen("celery")
                return waiting == 0 && harness.worker.activeTaskIDs.count == 2
            })
            for result in blockers { #expect(try await result.get(timeout: .seconds(10)) == "unblocked") }
            for (index, result) in queued.enumerated() { #expect(try await result.get(timeout: .seconds(10)) == .integer(index)) }
        }
    }
}
