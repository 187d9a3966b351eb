import Celeriac
import Foundation
import RedisTestSupport
import Testing

/// `celeriac dataset generate` and `celeriac job ...`, run as a user runs them, against a
/// Celeriac worker on a private redis-server.
@Suite struct JobCommandTests {
    let celeriac = CommandRunner.productsDirectory.appendingPathComponent("celeriac")

    @Test func generateRunStatusListStats() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2), register: { try JobTasks.register(in: $0) }) { harness in
            let server = harness.server
            let broker = ["--broker", server.url(database: 0), "--backend", server.url(database: 1)]
            let path = server.directory.appendingPathComponent("cli.csv").path
            let generate = try await CommandRunner.run(celeriac, ["dataset", "generate", "--items", "3000", "--format", "csv", "--output", path])
            #expect(generate.status == 0, "\(generate.standardError)")
            #expect(generate.standardOutput.contains("wrote 3,000 items"))

            let run = try await CommandRunner.run(
                celeriac,
                ["job", "run", "--function", "aggregation", "--input", path, "--partition-size", "500", "--wait", "--json",
                 "--params", #"{"group_by": ["category"], "metrics": {"amount": ["sum", "count", "avg", "min", "max"]}}"#] + broker)
            #expect(run.status == 0, "\(run.standardError)")
            let result = try JSONValue(parsing: run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(result["items"] == 3000)
            #expect(result["groups"]?.arrayValue?.count == DatasetGenerator.categories.count + 1)  // and the items without a category
            #expect(result["groups"]?.arrayValue?.first?["key"] == ["category": "books"])
            #expect(result["groups"]?.arrayValue?.first?["amount"]?.objectValue?.keys == ["sum", "count", "avg", "min", "max"])

            let submitted = try await CommandRunner.run(
                celeriac, ["job", "run", "-f", "analysis", "-i", path, "-p", #"{"fields": ["score"]}"#] + broker)
            #expect(submitted.status == 0, "\(submitted.standardError)")
            let id = submitted.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try await harness.app.jobs.job(id).wait(timeout: .seconds(120))
            let status = try await CommandRunner.run(celeriac, ["job", "status", id, "--json"] + broker)
            #expect(status.status == 0, "\(status.standardError)")
            let json = try JSONValue(parsing: status.standardOutput)
            for key in ["id", "state", "partitions_total", "partitions_done", "items_processed"] {
                #expect(json[key] != nil, "status --json lacks \(key)")
            }
            #expect(json["id"] == .string(id))
            #expect(json["state"] == "completed")
            #expect(json["items_processed"] == 3000)

            let shown = try await CommandRunner.run(celeriac, ["job", "result", id, "--json"] + broker)
            #expect(try JSONValue(parsing: shown.standardOutput)["fields"]?["score"]?["count"]?.intValue ?? 0 > 2900)
            let list = try await CommandRunner.run(celeriac, ["job", "list"] + broker)
            #expect(list.standardOutput.contains(id))
            #expect(list.standardOutput.contains("aggregation"))
            let stats = try await CommandRunner.run(celeriac, ["job", "stats", "--json"] + broker)
            let totals = try JSONValue(parsing: stats.standardOutput)
            #expect(totals["completed"] == 2)
            #expect(totals["functions"]?["analysis"]?["items"] == 3000)
            let cancel = try await CommandRunner.run(celeriac, ["job", "cancel", id] + broker)
            #expect(cancel.standardOutput.contains("already completed"))
        }
    }

    @Test func clearErrorsBeforeAnythingIsQueued() async throws {
        try await withRedisServer { server in
            let broker = ["--broker", server.url(database: 0)]
            let missing = try await CommandRunner.run(celeriac, ["job", "run", "-f", "analysis", "-i", "/nonexistent.jsonl", "-p", #"{"fields": ["a"]}"#] + broker)
            #expect(missing.status == 1)
            #expect(missing.standardError.contains("/nonexistent.jsonl does not exist"))
            let unknown = try await CommandRunner.run(celeriac, ["job", "run", "-f", "sentiment", "-i", "/etc/hostname"] + broker)
            #expect(unknown.status == 1)
            #expect(unknown.standardError.contains("unknown job function 'sentiment'"))
            let bad = try await CommandRunner.run(celeriac, ["job", "run", "-f", "analysis", "-i", "/etc/hostname", "-p", #"{"fields": "score"}"#] + broker)
            #expect(bad.standardError.contains("parameter fields:"))
            let usage = try await CommandRunner.run(celeriac, ["job", "run", "-f", "analysis"] + broker)
            #expect(usage.status == 2)
            let size = try await CommandRunner.run(celeriac, ["job", "run", "-f", "analysis", "-i", "/etc/hostname", "--partition-size", "-3"] + broker)
            #expect(size.status == 2)
            let notFound = try await CommandRunner.run(celeriac, ["job", "status", "nope"] + broker)
            #expect(notFound.status == 1)
            #expect(notFound.standardError.contains("no job nope"))
        }
    }
}
