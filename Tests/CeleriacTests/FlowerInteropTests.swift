import Celeriac
import Foundation
import RedisTestSupport
import Testing

/// Flower 2.2 (from the test venv) watching a Celeriac worker through its events.
@Suite(.enabled(if: interopPython != nil, "set CELERIAC_PYTHON (scripts/test.sh does)"))
struct FlowerInteropTests {
    @Test func flowerShowsACeleriacWorkerAndItsTasks() async throws {
        try await withWorker(WorkerConfiguration(concurrency: 2, hostname: "swift@flower", taskEvents: true)) { harness in
            let python = try #require(interopPython)
            let port = try RedisServerProcess.freePort()
            let environment = PythonInterop.environment(harness.server, ["FLOWER_UNAUTHENTICATED_API": "true"])
            let log = harness.server.directory.appendingPathComponent("flower.log")
            let flower = try ChildProcess(
                python, ["-m", "celery", "-A", "celeriac_interop", "flower", "--address=127.0.0.1", "--port=\(port)"],
                environment: environment, outputPath: log.path)
            let run = try await CommandRunner.run(
                URL(fileURLWithPath: python),
                [PythonCeleryInteropTests.interopDirectory.appendingPathComponent("flower_check.py").path, String(port), "swift@flower"],
                environment: environment)
            await RedisServerProcess.onOwnThread { flower.terminate(grace: 10) }
            let flowerOutput = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            #expect(run.status == 0, "\(run.standardOutput)\n\(run.standardError.suffix(2000))\nflower:\n\(flowerOutput.suffix(2000))")
            #expect(run.standardOutput.hasSuffix("done\n"))
        }
    }
}
