import Celeriac
import Foundation
import RedisTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The CLI and the worker against a peer that trickles its replies or goes silent: every command
/// ends at its timeout, and a worker whose Redis turns hostile mid-run still stops on SIGTERM.
/// (Before the whole-reply deadline, one byte a second kept `ping --timeout 3` and a worker's
/// fetch, and so its shutdown, hung for ever.) The bounds are generous: they are not speed
/// figures, only "ends, and not much after its timeout", on a loaded machine.
@Suite struct HostilePeerTests {
    private let environment: [String: String?] = ["CELERIAC_BROKER_URL": nil, "CELERIAC_RESULT_BACKEND": nil]
    private func executable(_ name: String) -> URL { CommandRunner.productsDirectory.appendingPathComponent(name) }

    /// An endless bulk reply, one byte every 100 ms.
    private func tricklingPeer() throws -> ScriptedTCPServer {
        try ScriptedTCPServer(
            reply: Array("$100000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 100_000),
            closeAfterReply: false, byteInterval: .milliseconds(100))
    }

    @Test func pingEndsAtItsTimeoutAgainstATricklingServer() async throws {
        let peer = try tricklingPeer()
        defer { peer.stop() }
        let started = ContinuousClock.now
        let result = try await CommandRunner.run(
            executable("celeriac"), ["ping", "--timeout", "3", "--broker", "redis://127.0.0.1:\(peer.port)/0"],
            environment: environment)
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.contains("did not send a whole reply within 3.0 seconds"), "\(result.standardError)")
        #expect(ContinuousClock.now - started < .seconds(30), "peer: \(peer.log)")
    }

    @Test func aWorkerStartingAgainstATricklingServerGivesUp() async throws {
        let peer = try tricklingPeer()
        defer { peer.stop() }
        let started = ContinuousClock.now
        let worker = try ChildProcess(
            executable("celeriac-worker").path, ["-c", "1", "--broker", "redis://127.0.0.1:\(peer.port)/0"],
            environment: environment)
        defer { worker.terminate(signal: SIGKILL) }
        let exited = await eventually(attempts: 2_000) { worker.hasExited }  // 40 s
        #expect(exited, "the worker still waits on a trickling server; peer: \(peer.log)")
        #expect(ContinuousClock.now - started < .seconds(40))
    }

    /// A running worker whose connections turn trickling or silent: one SIGTERM (warm: bounded by
    /// the grace periods) or two (cold) still stop it. Before, a warm shutdown waited for ever
    /// for its last writes, and a second signal did not end that wait.
    @Test(arguments: [(TCPFaultProxy.Mode.trickle(.milliseconds(200)), 1), (.silent, 1), (.silent, 2)])
    func aWorkerStopsOnSIGTERMWhileItsRedisHangs(mode: TCPFaultProxy.Mode, signals: Int) async throws {
        try await withRedisServer { server in
            let proxy = try TCPFaultProxy(upstreamPort: server.port)
            defer { proxy.stop() }
            let log = server.directory.appendingPathComponent("worker-\(CeleryID.random().prefix(6)).log").path
            let worker = try ChildProcess(
                executable("celeriac-worker").path, ["-c", "2", "-n", "hostile@%h", "--shutdown-grace", "5"],
                environment: [
                    "CELERIAC_BROKER_URL": "redis://127.0.0.1:\(proxy.port)/0",
                    "CELERIAC_RESULT_BACKEND": "redis://127.0.0.1:\(proxy.port)/1",
                ],
                outputPath: log)
            defer { worker.terminate(signal: SIGKILL) }
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            #expect(try await app.send("celeriac.examples.add", args: [1, 2]).get(timeout: .seconds(30)) == 3)

            proxy.mode = mode
            // A task sent now reaches the worker (requests pass) but its replies do not; the
            // worker is inside a fetch or a store when the signal comes.
            _ = try await app.send("celeriac.examples.add", args: [3, 4])
            try await Task.sleep(for: .seconds(1))
            guard let pid = worker.pid else {
                Issue.record("the worker exited early: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                return
            }
            let signalled = ContinuousClock.now
            kill(pid, SIGTERM)
            if signals == 2 {
                try await Task.sleep(for: .milliseconds(500))
                kill(pid, SIGTERM)
            }
            let exited = await eventually(attempts: 3_000) { worker.hasExited }  // 60 s
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(exited, "the worker did not stop within 60 s of SIGTERM; log: \(text.suffix(3000))")
            // Warm: a fetch's timeout, then 5 s for the running task and 5 s for its writes; cold: a call's timeout.
            #expect(ContinuousClock.now - signalled < .seconds(signals == 2 ? 20 : 45), "log: \(text.suffix(3000))")
            await app.close()
        }
    }

    /// The silence ends: the worker reconnects and serves tasks again. (A task sent during the
    /// silence can be lost: BRPOP pops it in Redis and the reply never arrives, the fetch window
    /// of issue #10; so none is sent then.)
    @Test func aWorkerRecoversWhenItsRedisAnswersAgain() async throws {
        try await withRedisServer { server in
            let proxy = try TCPFaultProxy(upstreamPort: server.port)
            defer { proxy.stop() }
            let log = server.directory.appendingPathComponent("worker-recover.log").path
            let worker = try ChildProcess(
                executable("celeriac-worker").path, ["-c", "2", "-n", "recover@%h"],
                environment: [
                    "CELERIAC_BROKER_URL": "redis://127.0.0.1:\(proxy.port)/0",
                    "CELERIAC_RESULT_BACKEND": "redis://127.0.0.1:\(proxy.port)/1",
                ],
                outputPath: log)
            defer { worker.terminate(grace: 10) }
            let app = try CeleriacApp(brokerURL: server.url(database: 0), backendURL: server.url(database: 1))
            #expect(try await app.send("celeriac.examples.add", args: [1, 2]).get(timeout: .seconds(30)) == 3)
            proxy.mode = .silent
            try await Task.sleep(for: .seconds(8))  // past the worker's command timeouts
            proxy.mode = .forward
            let text = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
            #expect(try await app.send("celeriac.examples.add", args: [7, 8]).get(timeout: .seconds(60)) == 15, "log: \(text().suffix(3000))")
            #expect(text().contains("redis.unreachable"), "the silence went unnoticed: \(text().suffix(3000))")
            #expect(!worker.hasExited)
            await app.close()
        }
    }
}
