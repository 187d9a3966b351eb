import Celeriac
import Foundation
import RedisTestSupport
import Testing

/// `celeriac demo` as a user runs it, on a test's private redis-server (so it starts none).
@Suite(.serialized) struct DemoCommandTests {
    let celeriac = CommandRunner.productsDirectory.appendingPathComponent("celeriac").path

    /// A file another process is writing. (Through a FileHandle: Foundation's String(contentsOfFile:)
    /// leaks its buffer when the file grows while it reads, which LeakSanitizer reports.)
    static func read(_ path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }

    @Test func runsBothJobsAndPrintsTheTable() async throws {
        try await withRedisServer { server in
            let run = try await CommandRunner.run(
                URL(fileURLWithPath: celeriac), ["demo", "--items", "20000", "--broker", server.url(database: 0)])
            #expect(run.status == 0, "\(run.standardOutput)\n\(run.standardError)")
            #expect(run.standardOutput.contains("2 workers up"))
            #expect(run.standardOutput.contains("validation 100% 8/8 partitions 20,000/20,000 items"))
            #expect(run.standardOutput.contains("FIELD"))
            #expect(run.standardOutput.contains("JOB       FUNCTION    STATE"))
            #expect(run.standardOutput.components(separatedBy: "completed").count >= 5)
        }
    }

    @Test func interruptCancelsTheJobAndStopsTheWorkers() async throws {
        try await withRedisServer { server in
            let log = server.directory.appendingPathComponent("demo.out").path
            let demo = try ChildProcess(celeriac, ["demo", "--items", "400000", "--broker", server.url(database: 0)], outputPath: log)
            // Up to 3 minutes: under AddressSanitizer, making the 400,000-item dataset alone took
            // over a minute (2026-12-02; the job path got slower this session, see the note).
            let started = await eventually(attempts: 9000) {
                Self.read(log).contains(": validation")
            }
            try #require(started, "the demo did not start its first job")
            try await Task.sleep(for: .milliseconds(300))
            if let pid = demo.pid { kill(pid, SIGINT) }
            let exited = await eventually(attempts: 1500) { demo.hasExited }
            #expect(exited, "the demo did not stop after Ctrl-C")
            let output = Self.read(log)
            #expect(output.contains("cancelling job") || output.contains("completed"), "\(output)")
            // Its workers are gone: nobody answers a ping.
            let app = try CeleriacApp(brokerURL: server.url(database: 0))
            let replies = try await ControlClient(app: app).broadcast("ping", timeout: .milliseconds(500))
            #expect(replies.isEmpty, "\(replies)")
            await app.close()
            if !exited { await RedisServerProcess.onOwnThread { demo.terminate(signal: SIGKILL, grace: 5) } }
        }
    }
}
