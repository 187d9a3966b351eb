import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// Jobs end to end: a private redis-server, two `celeriac-worker` processes (one slot each), real
/// files. The distributed result must equal the same function run in one process.
@Suite(.serialized) struct JobIntegrationTests {
    /// 200,000 items; the AddressSanitizer pass of scripts/test.sh sets fewer (its workers run
    /// several times slower, and the same code paths are covered).
    static let items = ProcessInfo.processInfo.environment["CELERIAC_JOB_TEST_ITEMS"].flatMap(Int.init)
        .map { min(max($0, 10_000), 1_000_000) } ?? 200_000

    /// Runs `body` with the server, two worker processes and a generated dataset of ``items``
    /// items with three malformed lines.
    func withJobCluster(
        workerArguments: [String] = [], _ body: (CeleriacApp, String, RedisServerProcess, [ChildProcess]) async throws -> Void
    ) async throws {
        try await withRedisServer { server in
            let directory = server.directory.appendingPathComponent("data").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let path = directory + "/people.jsonl"
            try DatasetGenerator(items: Self.items, seed: 5).write(to: path)
            let handle = try #require(FileHandle(forWritingAtPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Array("{\"id\": 0, \"broken\": \nnot json at all\n[\"an array\"]\n".utf8))
            try handle.close()

            let worker = CommandRunner.productsDirectory.appendingPathComponent("celeriac-worker").path
            let workers = try (1...2).map { index in
                try ChildProcess(
                    worker,
                    ["-c", "1", "-n", "jobs\(index)@%h", "--broker", server.url(database: 0), "--backend", server.url(database: 1)]
                        + workerArguments,
                    outputPath: server.directory.appendingPathComponent("worker\(index).log").path)
            }
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            do {
                let control = ControlClient(app: app)
                let up = try await eventually(attempts: 500) { (try await control.broadcast("ping", timeout: .milliseconds(200))).count == 2 }
                try #require(up, "the two workers did not come up")
                try await body(app, path, server, workers)
            } catch {
                for index in 1...2 {
                    let log = (try? String(contentsOf: server.directory.appendingPathComponent("worker\(index).log"), encoding: .utf8)) ?? ""
                    Issue.record(Comment(rawValue: "worker\(index) log:\n" + log.suffix(3000)))
                }
                await stop(workers)
                await app.close()
                throw error
            }
            await stop(workers)
            await app.close()
        }
    }

    func stop(_ workers: [ChildProcess]) async {
        await RedisServerProcess.onOwnThread { for worker in workers { worker.terminate(grace: 20) } }
    }

    static let cases: [(String, String)] = [
        ("validation", #"{"rules": {"email": {"required": true, "format": "email"}, "age": {"type": "integer", "min": 18, "max": 80}, "category": {"one_of": ["books", "toys"]}}}"#),
        ("analysis", #"{"fields": ["age", "score", "amount"], "categories": {"rules": [{"class": "big", "when": "amount > 1000"}]}}"#),
        ("aggregation", #"{"group_by": ["category", "active"], "metrics": {"amount": ["sum", "count", "avg", "min", "max"], "score": ["avg"]}}"#),
        ("classification", #"{"rules": [{"class": "vip", "when": "amount >= 5000 && active"}, {"class": "young", "when": "age < 30"}], "default": "other"}"#),
    ]

    @Test func everyFunctionEqualsTheOneProcessResult() async throws {
        try await withJobCluster { app, path, _, _ in
            for (function, parameters) in Self.cases {
                let parameters = try JSONValue(parsing: parameters)
                let job = try await app.jobs.submit(
                    JobSpec(dataset: .jsonLines(path: path), function: function, parameters: parameters, partitionSize: .items(Self.items / 13)))
                let distributed = try await job.result(timeout: .seconds(300))
                let local = try await LocalJobRunner.run(function: function, parameters: parameters, dataset: .jsonLines(path: path))
                #expect(distributed["items"] == .integer(Self.items + 3))
                #expect(distributed["failed_items"] == 3, "the three malformed lines")
                #expect(distributed["partitions"]?.intValue ?? 0 > 10)
                #expect(distributed["failed_partitions"] == [])
                var comparable = distributed.objectValue ?? [:]
                comparable["partitions"] = nil
                comparable["item_errors"] = nil
                var reference = local
                reference["partitions"] = nil
                reference["item_errors"] = nil
                #expect(Self.approximatelyEqual(.object(comparable), .object(reference)), "\(function)")
                let status = try await job.status()
                #expect(status.state == .completed)
                #expect(status.partitionsDone == status.partitionsTotal)
                #expect(status.itemsProcessed == Self.items + 3)
            }
            let statistics = try await app.jobs.statistics()
            #expect(statistics.completed >= Self.cases.count)
            #expect(statistics.functions["analysis"]?.items == Self.items + 3)
            #expect((statistics.functions["analysis"]?.itemsPerSecond ?? 0) > 0)
            let listed = try await app.jobs.list()
            #expect(listed.count == Self.cases.count)
            #expect(listed.first?.function == "classification")  // newest first
        }
    }

    @Test func transformationAndEnrichmentWriteTheirOutput() async throws {
        try await withJobCluster { app, path, server, _ in
            let output = server.directory.appendingPathComponent("out").path
            let job = try await app.jobs.submit(JobSpec(
                dataset: .jsonLines(path: path), function: "transformation",
                parameters: ["drop": ["name"], "convert": ["age": "integer"], "compute": ["double_amount": "amount * 2"]],
                partitionSize: .items(Self.items / 5), output: .directory(output)))
            let result = try await job.result(timeout: .seconds(300))
            #expect(result["written"] == .integer(Self.items))
            let manifest = try JSONValue(parsing: try #require(FileManager.default.contents(atPath: output + "/manifest.json")))
            #expect(manifest["items"] == .integer(Self.items))
            let parts = try #require(manifest["parts"]?.arrayValue)
            var lines = 0
            for part in parts {
                let text = try String(contentsOfFile: output + "/" + (part["path"]?.stringValue ?? ""), encoding: .utf8)
                let partLines = text.split(separator: "\n")
                lines += partLines.count
                #expect(part["items"] == .integer(partLines.count))
                if let first = partLines.first {
                    let item = try JSONValue(parsing: String(first))
                    #expect(item["name"] == nil)
                }
            }
            #expect(lines == Self.items)

            try await app.broker.pool.delete(["enriched"])
            let enrich = try await app.jobs.submit(JobSpec(
                dataset: .jsonLines(path: path), function: "enrichment", parameters: ["derive": ["email_domain": "email", "age_band": "age"]],
                partitionSize: .items(Self.items / 4), output: .redisList(key: "enriched")))
            let enriched = try await enrich.result(timeout: .seconds(300))
            #expect(enriched["written"] == .integer(Self.items))
            #expect(try await app.broker.pool.llen("enriched") == Self.items)
        }
    }

    @Test func aRedisListDataset() async throws {
        try await withJobCluster { app, _, _, _ in
            let values: [any RESPArgument] = (0..<9000).map { #"{"x": \#($0 % 100), "k": "\#($0 % 3)"}"# } + ["oops"]
            _ = try await app.broker.pool.rpush("items", values)
            let job = try await app.jobs.submit(JobSpec(
                dataset: .redisList(key: "items"), function: "aggregation",
                parameters: ["group_by": ["k"], "metrics": ["x": ["sum", "count"]]], partitionSize: .slots(2)))
            let result = try await job.result(timeout: .seconds(120))
            #expect(result["partitions"] == 8)  // 4 a slot
            #expect(result["items"] == 9001)
            #expect(result["failed_items"] == 1)
            let groups = try #require(result["groups"]?.arrayValue)
            #expect(groups.map { $0["x"]?["count"] } == [3000, 3000, 3000])
            #expect(groups.reduce(0.0) { $0 + ($1["x"]?["sum"]?.doubleValue ?? 0) } == 90 * 4950)
        }
    }

    @Test func cancelStopsTheJobAndLeavesWorkersHealthy() async throws {
        try await withJobCluster { app, path, _, _ in
            let job = try await app.jobs.submit(JobSpec(
                dataset: .jsonLines(path: path), function: "analysis", parameters: ["fields": ["amount"]], partitionSize: .items(Self.items / 100)))
            let started = try await eventually(attempts: 1000) { try await job.status().itemsProcessed > 0 }
            try #require(started)
            #expect(try await job.cancel())
            let status = try await job.wait(timeout: .seconds(10))
            #expect(status.state == .cancelled)
            #expect(status.partitionsDone < status.partitionsTotal)
            #expect(try await job.cancel() == false)
            await #expect(throws: JobError.self) { try await job.result() }
            // Running partitions stop within a second; nothing is left running after that.
            let settled = try await eventually(attempts: 250) { try await job.status().partitionsRunning == 0 }
            #expect(settled)
            let doneAtCancel = try await job.status().partitionsDone
            try await Task.sleep(for: .seconds(1))
            #expect(try await job.status().partitionsDone == doneAtCancel, "no partition ran after the cancel")
            // The workers still run the next job.
            let next = try await app.jobs.submit(JobSpec(
                dataset: .jsonLines(path: path), function: "classification",
                parameters: ["rules": [["class": "a", "when": "amount > 10"]]], partitionSize: .items(Self.items / 2)))
            #expect(try await next.result(timeout: .seconds(300))["items"] == .integer(Self.items + 3))
            #expect(try await app.jobs.statistics().cancelled == 1)
        }
    }

    @Test func aWorkerKilledMidJobLosesNoPartition() async throws {
        // Map tasks are acked late: the killed worker's partitions come back after the (short)
        // visibility timeout and the other worker runs them. The sweep lock expires soon too: a
        // SIGKILL in the middle of the victim's own sweep (every second) leaves the lock held, and
        // with kombu's 300 s expiry the survivor's sweeps would wait out the test's timeout.
        try await withJobCluster(workerArguments: [
            "--visibility-timeout", "3", "--restore-interval", "1", "--unacked-mutex-expire", "5",
        ]) { app, path, _, workers in
            let job = try await app.jobs.submit(JobSpec(
                dataset: .jsonLines(path: path), function: "analysis", parameters: ["fields": ["score"]],
                partitionSize: .items(Self.items / 40)))
            let running = try await eventually(attempts: 1000) {
                let status = try await job.status()
                return status.partitionsRunning > 0 && status.itemsProcessed > 0
            }
            try #require(running)
            let victim = try #require(workers[0].pid)
            kill(victim, SIGKILL)
            let result = try await job.result(timeout: .seconds(300))
            #expect(result["items"] == .integer(Self.items + 3))
            #expect(result["failed_partitions"] == [])
            let local = try await LocalJobRunner.run(function: "analysis", parameters: ["fields": ["score"]], dataset: .jsonLines(path: path))
            #expect(result["fields"]?["score"]?["count"] == local["fields"]?["score"]?["count"])
        }
    }

    @Test func aFailingPartitionIsReportedAndTheOthersCombined() async throws {
        try await withJobCluster { app, path, _, _ in
            // A job built by hand in the documented shape (as Python would), one partition unreadable.
            let size = try #require((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue)
            func chord(jobID: String, maxFailed: Int?) -> Signature {
                let header = (0..<4).map { index in
                    Signature(task: "celeriac.jobs.map", kwargs: [
                        "job_id": .string(jobID), "partition": .integer(index), "partitions": 4,
                        "dataset": ["format": "jsonl", "path": .string(index == 2 ? path + ".gone" : path),
                                    "start": .integer(size * index / 4), "end": .integer(size * (index + 1) / 4)],
                        "function": "analysis", "params": ["fields": ["score"]],
                    ])
                }
                return Signature.chord(header, body: Signature(task: "celeriac.jobs.reduce", kwargs: [
                    "job_id": .string(jobID), "function": "analysis", "params": ["fields": ["score"]],
                    "max_failed_partitions": maxFailed.map(JSONValue.integer) ?? .null,
                ]))
            }
            let tolerant = try await app.apply(chord(jobID: "hand-built-1", maxFailed: nil))
            let result = try await tolerant.get(timeout: .seconds(120))
            let failed = try #require(result["failed_partitions"]?.arrayValue)
            #expect(failed.count == 1)
            #expect(failed.first?["partition"] == 2)
            #expect(failed.first?["error"]?.stringValue?.contains(".gone") == true)
            #expect((result["items"]?.intValue ?? 0) > Self.items / 2)
            let status = try await app.jobs.job("hand-built-1").status()
            #expect(status.state == .completed)
            #expect(status.partitionsTotal == 4)
            #expect(status.partitionsFailed == 1)
            #expect(status.errors.contains { $0.contains("partition 2") })

            let strict = try await app.apply(chord(jobID: "hand-built-2", maxFailed: 0))
            await #expect(throws: (any Error).self) { try await strict.get(timeout: .seconds(120)) }
            #expect(try await app.jobs.job("hand-built-2").wait(timeout: .seconds(10)).state == .failed)
            await #expect(throws: JobError.self) { try await app.jobs.job("hand-built-2").result() }
        }
    }

    @Test func submitRefusesMissingFilesUnknownFunctionsAndBadParameters() async throws {
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            func code(_ spec: JobSpec) async -> JobError.Code? {
                do {
                    _ = try await app.jobs.submit(spec)
                    return nil
                } catch let error as JobError {
                    return error.code
                } catch {
                    return nil
                }
            }
            #expect(await code(JobSpec(dataset: .jsonLines(path: "/nonexistent.jsonl"), function: "analysis", parameters: ["fields": ["a"]])) == .datasetUnavailable)
            #expect(await code(JobSpec(dataset: .redisList(key: "empty"), function: "analysis", parameters: ["fields": ["a"]])) == .datasetUnavailable)
            #expect(await code(JobSpec(dataset: .jsonLines(path: "/etc/hostname"), function: "nope")) == .unknownFunction)
            #expect(await code(JobSpec(dataset: .jsonLines(path: "/etc/hostname"), function: "analysis", parameters: ["fields": 3])) == .invalidParameters)
            #expect(await code(JobSpec(dataset: .jsonLines(path: "/etc/hostname"), function: "analysis", parameters: ["fields": ["a"]], partitionSize: .items(0))) == .invalidSpec)
            #expect(await code(JobSpec(dataset: .jsonLines(path: "/etc/hostname"), function: "analysis", parameters: ["fields": ["a"]], partitionSize: .slots(0))) == .invalidSpec)
            // Nothing was queued.
            #expect(try await app.broker.pool.llen("celery") == 0)
            await #expect(throws: JobError.self) { try await app.jobs.job("no-such-job").status() }
            await app.close()
        }
    }

    @Test func aFailedReduceTaskFailsTheJob() async throws {
        // No worker: the job stays queued; then its reduce task's result is a FAILURE, as when a
        // worker gave the reduce up at its hard time limit.
        try await withRedisServer { server in
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            let path = server.directory.appendingPathComponent("small.jsonl").path
            try DatasetGenerator(items: 100, seed: 1).write(to: path)
            let job = try await app.jobs.submit(JobSpec(dataset: .jsonLines(path: path), function: "analysis", parameters: ["fields": ["age"]]))
            #expect(try await job.status().state == .pending)
            try await app.backend.pool.send("HSET", JobKeys.record(job.id), "state", "running")
            let reduceID = try #require(try await job.status().reduceTaskID)
            let failure = TaskResultMeta(
                taskID: reduceID, state: .failure,
                result: ["exc_type": "TimeLimitExceeded", "exc_message": ["hard limit"], "exc_module": "celery.exceptions"])
            _ = try await app.backend.pool.set(RedisResultBackend.key(for: reduceID), to: failure.encoded())
            let status = try await job.status()
            #expect(status.state == .failed)
            #expect(status.errors.first?.contains("reduce task FAILURE") == true)
            await #expect(throws: JobError.self) { try await job.result(timeout: .seconds(5)) }
            await app.close()
        }
    }

    /// Equal JSON, numbers within a relative 1e-9 (sums and moments of different splits differ in
    /// the last bits).
    static func approximatelyEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            return x.keys.sorted() == y.keys.sorted() && x.allSatisfy { key, value in y[key].map { approximatelyEqual(value, $0) } ?? false }
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy(approximatelyEqual)
        default:
            if let x = a.doubleValue, let y = b.doubleValue { return x == y || abs(x - y) <= 1e-9 * max(abs(x), abs(y)) }
            return a == b
        }
    }
}
