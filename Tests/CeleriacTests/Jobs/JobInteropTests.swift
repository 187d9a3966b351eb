import Celeriac
import Foundation
import RedisTestSupport
import Testing

/// A job chord built by Python Celery (`Tests/Interop/python_job.py`) in the documented shape,
/// run by a Celeriac worker; `celeriac job status` shows it like any other job.
@Suite(.serialized, .enabled(if: interopPython != nil, "set CELERIAC_PYTHON (scripts/test.sh does)"))
struct JobInteropTests {
    @Test func pythonBuiltJobChordRunsOnCeleriacWorkers() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2), register: { try JobTasks.register(in: $0) }) { harness in
            let server = harness.server
            let path = server.directory.appendingPathComponent("python-job.jsonl").path
            try DatasetGenerator(items: 5_000, seed: 9).write(to: path)
            let run = try await CommandRunner.run(
                URL(fileURLWithPath: try #require(interopPython)),
                [PythonCeleryInteropTests.interopDirectory.appendingPathComponent("python_job.py").path],
                environment: PythonInterop.environment(server, ["DATASET": path, "JOB_ID": "from-python", "PARTITIONS": "5"]))
            #expect(run.status == 0, "\(run.standardError.suffix(3000))")
            let result = try JSONValue(parsing: run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
            let local = try await LocalJobRunner.run(
                function: "analysis", parameters: ["fields": ["score", "amount"]], dataset: .jsonLines(path: path))
            #expect(result["items"] == 5_000)
            #expect(result["fields"]?["score"]?["count"] == local["fields"]?["score"]?["count"])
            #expect(result["fields"]?["amount"]?["p90"] == local["fields"]?["amount"]?["p90"])
            #expect(result["partitions"] == 5)

            let status = try await harness.app.jobs.job("from-python").status()
            #expect(status.state == .completed)
            #expect(status.partitionsTotal == 5)
            #expect(status.partitionsDone == 5)
            #expect(status.itemsProcessed == 5_000)
            #expect(status.function == "analysis")
        }
    }
}
