import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// Canvases shared by a Celeriac worker (queue `celery`) and a Python Celery 5.7 worker (queue
/// `interop.py`): chords whose header and body run on different kinds of worker, and chains
/// handed from one to the other, built by either side.
@Suite(.serialized, .enabled(if: interopPython != nil, "set CELERIAC_PYTHON (scripts/test.sh does)"))
struct CanvasInteropTests {
    let add = Signature(task: "celeriac.examples.add")
    let xsum = Signature(task: "celeriac.examples.xsum")

    private func withBothWorkers(_ body: (WorkerHarness, RedisServerProcess) async throws -> Void) async throws {
        try await withWorker(WorkerConfiguration(concurrency: 4, hostname: "swift@canvas", resultExtended: true)) { harness in
            let server = harness.server
            let log = server.directory.appendingPathComponent("celery-canvas-worker.log")
            let python = try PythonInterop.worker(server, queues: "interop.py", name: "python@canvas", log: log)
            do {
                // Up once it has served its queue.
                _ = try await harness.app.send("celeriac.examples.noop", options: TaskOptions(queue: "interop.py"))
                    .get(timeout: .seconds(90))
                try await body(harness, server)
            } catch {
                Issue.record("Python worker output:\n\(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(3000))")
                await RedisServerProcess.onOwnThread { python.terminate(grace: 10) }
                throw error
            }
            await RedisServerProcess.onOwnThread { python.terminate(grace: 10) }
        }
    }

    private func environment(_ server: RedisServerProcess) -> [String: String?] {
        PythonInterop.environment(server, ["SWIFT_WORKER": "swift@canvas", "PYTHON_WORKER": "python@canvas"])
    }

    @Test func pythonCanvasesRunOnCeleriacAndPythonWorkers() async throws {
        try await withBothWorkers { _, server in
            let run = try await CommandRunner.run(
                URL(fileURLWithPath: try #require(interopPython)),
                [PythonCeleryInteropTests.interopDirectory.appendingPathComponent("python_canvas.py").path],
                environment: environment(server))
            #expect(run.status == 0, "\(run.standardOutput)\n\(run.standardError.suffix(3000))")
            #expect(run.standardOutput.hasSuffix("done\n"))
        }
    }

    @Test func celeriacChainIsFinishedByPython() async throws {
        try await withBothWorkers { harness, _ in
            let onPython = ["queue": JSONValue.string("interop.py")] as JSONObject
            let result = try await harness.app.apply(
                Signature.chain(add.clone(adding: [1, 2]), add.clone(adding: [3]).setting(onPython), add.clone(adding: [4]).setting(onPython)))
            #expect(try await result.get(timeout: .seconds(60)) == 10)
            let last = try #require(try await harness.app.backend.meta(for: result.id))
            #expect(last.fields["worker"] == "python@canvas")
            let firstID = try #require(last.fields["parent_id"]?.stringValue)
            let middle = try #require(try await harness.app.backend.meta(for: firstID))
            let rootID = try #require(middle.fields["parent_id"]?.stringValue)
            let rootStep = try #require(try await harness.app.backend.meta(for: rootID))
            #expect(rootStep.fields["worker"] == "swift@canvas")
        }
    }

    @Test func celeriacChordWithPythonHeaderAndCeleriacBody() async throws {
        try await withBothWorkers { harness, _ in
            let onPython = ["queue": JSONValue.string("interop.py")] as JSONObject
            let header = (0..<10).map { add.clone(adding: [.integer($0), 1]).setting(onPython) }
            let result = try await harness.app.apply(Signature.chord(header, body: xsum))
            #expect(try await result.get(timeout: .seconds(60)) == 55)
            let body = try #require(try await harness.app.backend.meta(for: result.id))
            #expect(body.fields["worker"] == "swift@canvas")
        }
    }
}
