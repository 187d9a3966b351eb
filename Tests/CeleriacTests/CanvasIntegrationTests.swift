import Celeriac
import CeleriacExamples
import Foundation
import RESP
import RedisTestSupport
import Synchronization
import Testing

/// Chains, groups and chords run by two Celeriac workers on a private redis-server. One test at a
/// time: each starts two workers, and together they would load the machine for the other suites.
@Suite(.serialized) struct CanvasIntegrationTests {
    let add = Signature(task: "celeriac.examples.add")
    let xsum = Signature(task: "celeriac.examples.xsum")
    let fail = Signature(task: "celeriac.examples.fail")
    /// `canvas.counted_sum(numbers, tag=)`: a sum body that counts its runs per tag.
    let countedSum = Signature(task: "canvas.counted_sum")

    @Test func chainOfThreePassesEachResultOn() async throws {
        try await withWorkers { cluster in
            let result = try await cluster.app.apply(
                Signature.chain(add.clone(adding: [1, 2]), add.clone(adding: [3]), add.clone(adding: [4])))
            #expect(try await result.get(timeout: .seconds(30)) == 10)
            // The last step's parent is the second, whose parent is the first; each lists the next as child.
            let last = try #require(try await cluster.app.backend.meta(for: result.id))
            let middleID = try #require(last.fields["parent_id"]?.stringValue)
            // As in Celery, a step sends the next before it stores its own result (so that the
            // stored result lists its child): the last can finish before the middle is stored.
            #expect(try await eventually(attempts: 500) { try await cluster.app.backend.meta(for: middleID) != nil })
            let middle = try #require(try await cluster.app.backend.meta(for: middleID))
            #expect(middle.result == 6)
            #expect(middle.fields["children"] == [[[.string(result.id), .null], .null]])
        }
    }

    @Test func typedTasksInAChain() async throws {
        try await withWorkers { cluster in
            let chain = Signature.chain(try Signature(Add.self, .init(x: 1, y: 2)), Signature(Add.self, args: [10]))
            #expect(try await cluster.app.apply(chain).get(as: Int.self, timeout: .seconds(30)) == 13)
        }
    }

    @Test func groupOfAHundredKeepsItsOrder() async throws {
        try await withWorkers { cluster in
            let result = try await cluster.app.apply(Signature.group((0..<100).map { add.clone(adding: [.integer($0), .integer($0)]) }))
            let group = try #require(result.groupResult)
            let values = try await group.get(timeout: .seconds(60))
            #expect(values == (0..<100).map { JSONValue.integer(2 * $0) })
            #expect(try await group.completedCount() == 100)
            #expect(try await group.ready())
            #expect(try await group.successful())
            #expect(try await group.progress() == CanvasProgress(completed: 100, total: 100))
            let member = try #require(try await cluster.app.backend.meta(for: group.results[7].id))
            #expect(member.fields["group_id"] == .string(group.id))

            try await group.save()
            let restored = try #require(try await GroupResult.restore(group.id, backend: cluster.app.backend))
            #expect(restored.results.map(\.id) == group.results.map(\.id))
            #expect(try await restored.get(timeout: .seconds(5)) == values)
        }
    }

    @Test func chordOfAThousandRunsItsBodyOnceWithOrderedResults() async throws {
        try await withWorkers { cluster in
            let header = (0..<1000).map { add.clone(adding: [.integer($0), .integer($0)]) }
            let result = try await cluster.app.apply(
                Signature.chord(header, body: countedSum.clone(adding: [], kwargs: ["tag": "thousand"])))
            #expect(try await result.get(timeout: .seconds(120)) == .integer(999_000))
            #expect(cluster.counters.value("thousand") == 1)
            // Chord data is cleaned up; only the `done` marker stays. The claimer cleans up after
            // publishing the body, so the body's result can be read before that.
            let keys = ChordCounter.Keys(try #require(result.groupResult?.id))
            let backend = cluster.app.backend.pool
            #expect(try await eventually { try await backend.getString(keys.claim) == "done" })
            #expect(try await backend.exists([keys.size, keys.results, keys.dedup]) == 0)
            let body = try #require(try await cluster.app.backend.meta(for: result.id))
            #expect(body.fields["group_id"]?.stringValue == keys.group.replacingOccurrences(of: "celery-taskset-meta-", with: ""))
        }
    }

    @Test func chordWithAFailingHeaderFailsItsBodyWithChordError() async throws {
        try await withWorkers { cluster in
            let result = try await cluster.app.apply(
                Signature.chord(
                    [add.clone(adding: [1, 1]), fail.clone(adding: ["header boom"]), add.clone(adding: [3, 3])],
                    body: countedSum.clone(adding: [], kwargs: ["tag": "failing"])))
            let error = await #expect(throws: TaskFailure.self) { try await result.get(timeout: .seconds(30)) }
            #expect(error?.type == "ChordError")
            #expect(error?.module == "celery.exceptions")
            let failedID = try #require(result.groupResult?.results[1].id)
            #expect(error?.message == "Dependency \(failedID) raised ValueError('header boom')")
            #expect(cluster.counters.value("failing") == 0)
            let keys = ChordCounter.Keys(try #require(result.groupResult?.id))
            let pool = cluster.app.backend.pool
            #expect(await eventually { (try? await pool.exists([keys.size])) == 0 })
        }
    }

    /// A recorded result that is not Celery's (bad input in `.j`) fails the body with a
    /// `ChordError` instead of leaving it waiting.
    @Test func unreadableChordResultFailsTheBody() async throws {
        try await withWorkers { cluster in
            var plan = try CanvasPlan(
                applying: Signature.chord([add.clone(adding: [1, 1])], body: countedSum.clone(adding: [], kwargs: ["tag": "join"])),
                origin: cluster.app.origin, replyTo: cluster.app.replyTo)
            let groupID = try #require(plan.chordSizes.first?.groupID)
            plan.chordSizes = [.init(groupID: groupID, size: 2)]
            _ = try await cluster.app.backend.pool.send("ZADD", ChordCounter.Keys(groupID).results, 1, "not json")
            try await cluster.app.publish(plan)
            let error = await #expect(throws: TaskFailure.self) {
                try await cluster.app.asyncResult(plan.result.id).get(timeout: .seconds(30))
            }
            #expect(error?.type == "ChordError")
            #expect(error?.message.hasPrefix("Join error: ") == true, "\(String(describing: error))")
            #expect(cluster.counters.value("join") == 0)
        }
    }

    @Test func chainStartingWithAGroupRunsAsAChord() async throws {
        try await withWorkers { cluster in
            let result = try await cluster.app.apply(
                Signature.chain(Signature.group(add.clone(adding: [1, 1]), add.clone(adding: [2, 2])), xsum))
            #expect(try await result.get(timeout: .seconds(30)) == 6)
        }
    }

    @Test func chordInTheMiddleOfAChainGetsThePreviousResult() async throws {
        try await withWorkers { cluster in
            let result = try await cluster.app.apply(
                Signature.chain(
                    add.clone(adding: [1, 1]), Signature.group(add.clone(adding: [10]), add.clone(adding: [20])), xsum,
                    add.clone(adding: [100])))
            // add(1,1)=2 → [add(2,10), add(2,20)] = [12, 22] → 34 → add(34, 100)
            #expect(try await result.get(timeout: .seconds(30)) == 134)
        }
    }

    @Test func groupOfChainsAndChunks() async throws {
        try await withWorkers { cluster in
            let chains = try await cluster.app.apply(
                Signature.group(
                    Signature.chain(add.clone(adding: [1, 1]), add.clone(adding: [2])),
                    Signature.chain(add.clone(adding: [3, 3]), add.clone(adding: [4]))))
            #expect(try await chains.get(timeout: .seconds(30)) == [4, 10])

            let chunks = try await cluster.app.apply(add.chunks([[1, 2], [3, 4], [5, 6]], size: 2))
            #expect(try await chunks.get(timeout: .seconds(30)) == [[3, 7], [11]])
            let mapped = try await cluster.app.apply(xsum.map([[1, 2], [3, 4]]))
            #expect(try await mapped.get(timeout: .seconds(30)) == [3, 7])
        }
    }

    @Test func failingChainStepFailsTheRestAndRunsTheErrback() async throws {
        try await withWorkers { cluster in
            let errback = Signature(task: "canvas.record_errback")
            let chain = Signature.chain(add.clone(adding: [1, 1]), fail.clone(adding: ["chain middle boom"]).immutable(true), add.clone(adding: [3]))
                .onError(errback)
            let result = try await cluster.app.apply(chain)
            let error = await #expect(throws: TaskFailure.self) { try await result.get(timeout: .seconds(30)) }
            #expect(error?.type == "ValueError")
            #expect(error?.message == "chain middle boom")
            #expect(await eventually { cluster.counters.value("errback") == 1 })
        }
    }

    @Test func chordProgressIsReadableWhileItRuns() async throws {
        try await withWorkers { cluster in
            let gate = Signature(task: "canvas.gate")
            let result = try await cluster.app.apply(
                Signature.chord([add.clone(adding: [1, 1]), add.clone(adding: [2, 2]), gate, add.clone(adding: [3, 3])], body: xsum))
            guard case .chord(let chord) = result else { Issue.record("not a chord: \(result)"); return }
            #expect(await eventually { (try? await chord.progress()) == CanvasProgress(completed: 3, total: 4) })
            #expect(try await chord.body.state() == .pending)
            cluster.openGate()
            #expect(try await chord.get(timeout: .seconds(30)) == 12)
            #expect(try await chord.progress() == CanvasProgress(completed: 4, total: 4))
        }
    }

    /// `celeriac apply <chord JSON> --wait --progress`, then `celeriac progress <group id>`.
    @Test func commandLineAppliesAChordAndShowsProgress() async throws {
        try await withWorkers { cluster in
            let chord = Signature.chord((1...20).map { add.clone(adding: [.integer($0), 0]) }, body: xsum)
            let celeriac = CommandRunner.productsDirectory.appendingPathComponent("celeriac")
            let environment: [String: String?] = ["CELERIAC_BROKER_URL": cluster.brokerURL, "CELERIAC_RESULT_BACKEND": cluster.backendURL]
            let run = try await CommandRunner.run(
                celeriac, ["apply", chord.jsonValue.serializedString, "--wait", "--progress", "--timeout", "60"],
                environment: environment)
            #expect(run.status == 0, "\(run.standardError)")
            let lines = run.standardOutput.split(separator: "\n").map(String.init)
            #expect(lines.first?.contains("chord body; group") == true, "\(lines)")
            #expect(lines.last == "210")
            let groupID = try #require(lines.first?.split(separator: " ").dropFirst(4).first.map { String($0.dropLast(1)) })
            let progress = try await CommandRunner.run(celeriac, ["progress", groupID], environment: environment)
            #expect(progress.standardOutput == "chord \(groupID): done (body sent)\n", "\(progress.standardError)")
            let unknown = try await CommandRunner.run(celeriac, ["progress", "no-such-group"], environment: environment)
            #expect(unknown.status == 1)
            let bad = try await CommandRunner.run(celeriac, ["apply", "{\"args\": []}"], environment: environment)
            #expect(bad.status == 2)
        }
    }

    /// Acks-late header tasks return their part before they are acked (and the claimer finishes
    /// the chord first); nothing stays unacked.
    @Test func chordOnAcksLateWorkers() async throws {
        try await withWorkers(acksLate: true) { cluster in
            let header = (0..<200).map { add.clone(adding: [.integer($0), 0]) }
            let result = try await cluster.app.apply(
                Signature.chord(header, body: countedSum.clone(adding: [], kwargs: ["tag": "late"])))
            #expect(try await result.get(timeout: .seconds(60)) == .integer(19_900))
            #expect(cluster.counters.value("late") == 1)
            let broker = try await RedisConnection.connect(url: cluster.brokerURL)
            #expect(await eventually { (try? await broker.hgetall("unacked").isEmpty) == true })
            await broker.close()
        }
    }
}

/// A load test, run alone by scripts/test.sh (it saturates both cores for tens of seconds and
/// would starve the timing of tests running beside it).
@Suite struct ChordRaceTests {
    let add = Signature(task: "celeriac.examples.add")
    let countedSum = Signature(task: "canvas.counted_sum")

    /// The issue's race: 20 chords of 1,000 header tasks on 2 workers × 16 slots; each body runs
    /// exactly once (its runs are counted, not just its result).
    @Test func chordBodyRunsExactlyOnceUnderRaces() async throws {
        try await withWorkers(concurrency: 16) { cluster in
            var results: [CanvasResult] = []
            for round in 0..<20 {
                let header = (0..<1000).map { add.clone(adding: [.integer($0), 1]) }
                results.append(
                    try await cluster.app.apply(
                        Signature.chord(header, body: countedSum.clone(adding: [], kwargs: ["tag": .string("race-\(round)")]))))
            }
            for result in results {
                #expect(try await result.get(timeout: .seconds(300)) == .integer(500_500))
            }
            // Late duplicates would show up here; give them a moment.
            try await Task.sleep(for: .milliseconds(300))
            for round in 0..<20 {
                #expect(cluster.counters.value("race-\(round)") == 1, "round \(round)")
            }
        }
    }
}

/// The atomic part return itself, against a real redis-server: a redelivered header task counts
/// once, only the completing return claims, and a late copy after the body is ignored.
@Suite struct ChordCounterTests {
    @Test func partReturnsCountOnceAndClaimOnce() async throws {
        try await withRedisServer { server in
            let pool = try RedisConnectionPool(url: server.url(database: 1))
            let counter = ChordCounter(pool: pool, expires: .seconds(60))
            try await counter.setSizes([.init(groupID: "g1", size: 2)])
            let first = try await counter.returnPart(groupID: "g1", taskID: "t1", groupIndex: 0, state: .success, result: 2)
            #expect(first == .recorded(count: 1, total: 2))
            let again = try await counter.returnPart(groupID: "g1", taskID: "t1", groupIndex: 0, state: .success, result: 99)
            #expect(again == .recorded(count: 1, total: 2))
            let last = try await counter.returnPart(groupID: "g1", taskID: "t2", groupIndex: 1, state: .success, result: 4)
            guard case .claimed(let token) = last else { Issue.record("not claimed: \(last)"); return }
            // The same completion seen again (a redelivery) cannot claim while the claim holds.
            let duplicate = try await counter.returnPart(groupID: "g1", taskID: "t2", groupIndex: 1, state: .success, result: 4)
            #expect(duplicate == .recorded(count: 2, total: 2))
            let results = try await counter.results(groupID: "g1")
            #expect(results.map(\.taskID) == ["t1", "t2"])
            #expect(results.map(\.result) == [2, 4])
            // Celery's exact entry format, read back raw.
            let raw = try await pool.send("ZRANGE", ChordCounter.Keys("g1").results, 0, 0)
            #expect(raw.array?.first?.string == #"[1, "t1", "SUCCESS", 2]"#)
            #expect(try await counter.extendClaim(groupID: "g1", token: token))
            #expect(try await !counter.extendClaim(groupID: "g1", token: "someone-else"))
            #expect(try await counter.finish(groupID: "g1", token: token))
            let late = try await counter.returnPart(groupID: "g1", taskID: "t1", groupIndex: 0, state: .success, result: 2)
            #expect(late == .alreadyDone)
            await pool.close()
        }
    }
}

// MARK: - Two workers on one server

struct CanvasCluster {
    let app: CeleriacApp
    let brokerURL: String
    let backendURL: String
    let counters: Counters
    let gate: GateFlag

    func openGate() { gate.flag.withLock { $0 = true } }
}

/// Runs `body` with two Celeriac workers (each its own app and connections) serving the example
/// tasks and the canvas test tasks, on one private redis-server.
func withWorkers(concurrency: Int = 4, acksLate: Bool = false, _ body: (CanvasCluster) async throws -> Void) async throws {
    try await withRedisServer { server in
        let counters = Counters()
        let gateOpen = GateFlag()
        var workers: [(Worker, Task<Void, any Error>, CeleriacApp, LogCollector)] = []
        for index in 0..<2 {
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let registry = TaskRegistry()
            try ExampleTasks.register(in: registry)
            try registry.register("canvas.counted_sum") { args, kwargs, _ in
                counters.increment(kwargs["tag"]?.stringValue ?? "?")
                let numbers = args.first?.arrayValue ?? []
                return .integer(numbers.compactMap(\.intValue).reduce(0, +))
            }
            try registry.register("canvas.record_errback") { _, _, _ in
                counters.increment("errback")
                return .null
            }
            try registry.register("canvas.gate") { _, _, _ in
                for _ in 0..<600 where !gateOpen.isOpen {
                    try await Task.sleep(for: .milliseconds(50))
                }
                return 0
            }
            let logs = LogCollector()
            let worker = Worker(
                app: app, registry: registry,
                configuration: WorkerConfiguration(concurrency: concurrency, hostname: "canvas\(index)@test", acksLate: acksLate),
                logger: logs.logger)
            workers.append((worker, Task { try await worker.run() }, app, logs))
        }
        let producer = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
        let cluster = CanvasCluster(app: producer, brokerURL: server.url(database: 0), backendURL: server.url(database: 1), counters: counters, gate: gateOpen)
        var failure: (any Error)?
        do {
            try await body(cluster)
        } catch {
            failure = error
            for (_, _, _, logs) in workers {
                Issue.record(Comment(rawValue: "worker log:\n" + logs.all.suffix(40).joined(separator: "\n")))
            }
        }
        for (worker, running, app, _) in workers {
            worker.shutdown()
            _ = try? await running.value
            await app.close()
        }
        await producer.close()
        if let failure { throw failure }
    }
}

/// A flag tests open to let `canvas.gate` tasks finish.
final class GateFlag: Sendable {
    let flag = Mutex(false)
    var isOpen: Bool { flag.withLock { $0 } }
}
