import Foundation
import RESP
import RedisTestSupport
import Testing

/// The built executables, run as a user runs them, against a private redis-server.
@Suite struct ExecutableTests {
    private func executable(_ name: String) -> URL {
        CommandRunner.productsDirectory.appendingPathComponent(name)
    }

    /// The environment without the variables that would change the defaults under test.
    private let cleanEnvironment: [String: String?] = ["CELERIAC_BROKER_URL": nil, "CELERIAC_RESULT_BACKEND": nil]

    @Test func helpAndVersion() async throws {
        let help = try await CommandRunner.run(executable("celeriac"), ["--help"])
        #expect(help.status == 0)
        #expect(help.standardOutput.contains("Usage: celeriac <command>"))
        #expect(help.standardOutput.contains("ping"))

        let version = try await CommandRunner.run(executable("celeriac"), ["--version"])
        #expect(version.status == 0)
        #expect(version.standardOutput.hasPrefix("celeriac 0.1.0 (hiredis 0.14."))

        let pingHelp = try await CommandRunner.run(executable("celeriac"), ["ping", "--help"])
        #expect(pingHelp.status == 0)
        #expect(pingHelp.standardOutput.contains("--broker URL"))
        #expect(pingHelp.standardOutput.contains("--backend URL"))
    }

    @Test func pingAnswersFromTheBrokerOption() async throws {
        try await withRedisServer { server in
            let result = try await CommandRunner.run(
                executable("celeriac"), ["ping", "--broker", server.url()], environment: cleanEnvironment)
            #expect(result.status == 0, "\(result.standardError)")
            #expect(result.standardOutput.hasPrefix("broker: PONG from \(server.url()) (Redis 7."))
        }
    }

    @Test func pingReadsTheEnvironmentAndChecksADifferentBackend() async throws {
        try await withRedisServer { server in
            let result = try await CommandRunner.run(
                executable("celeriac"), ["ping"],
                environment: ["CELERIAC_BROKER_URL": server.url(database: 0),
                              "CELERIAC_RESULT_BACKEND": server.url(database: 1)])
            #expect(result.status == 0, "\(result.standardError)")
            let lines = result.standardOutput.split(separator: "\n")
            #expect(lines.count == 2)
            #expect(lines.first?.hasPrefix("broker: PONG from \(server.url(database: 0))") == true)
            #expect(lines.last?.hasPrefix("backend: PONG from \(server.url(database: 1))") == true)
        }
    }

    @Test func pingRedactsThePassword() async throws {
        try await withRedisServer(extraArguments: ["--requirepass", "pw-secret"]) { server in
            let good = try await CommandRunner.run(
                executable("celeriac"), ["ping", "--broker", server.url(userInfo: ":pw-secret")],
                environment: cleanEnvironment)
            #expect(good.status == 0, "\(good.standardError)")
            #expect(!good.standardOutput.contains("pw-secret"))
            #expect(good.standardOutput.contains(":***@"))

            let bad = try await CommandRunner.run(
                executable("celeriac"), ["ping", "--broker", server.url(userInfo: ":wrong-secret")],
                environment: cleanEnvironment)
            #expect(bad.status == 1)
            #expect(!bad.standardError.contains("wrong-secret"))
            #expect(bad.standardError.contains("rejected the credentials"))
        }
    }

    /// `--broker-password-file` keeps the password out of the arguments `ps` shows.
    @Test func passwordFilesReachThePingAndTheWorker() async throws {
        try await withRedisServer(extraArguments: ["--requirepass", "pw-from-file"]) { server in
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-pw-\(UUID().uuidString)")
            try Data("pw-from-file\n".utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }

            let ping = try await CommandRunner.run(
                executable("celeriac"), ["ping", "--broker", server.url(), "--broker-password-file", file.path],
                environment: cleanEnvironment)
            #expect(ping.status == 0, "\(ping.standardError)")
            #expect(!ping.standardOutput.contains("pw-from-file"))

            let worker = try ChildProcess(
                executable("celeriac-worker").path, ["-c", "1", "-n", "pwfile@%h", "--broker", server.url()],
                environment: ["CELERIAC_BROKER_PASSWORD_FILE": file.path, "CELERIAC_BROKER_URL": nil, "CELERIAC_RESULT_BACKEND": nil])
            defer { worker.terminate() }
            let call = try await CommandRunner.run(
                executable("celeriac"),
                ["call", "celeriac.examples.add", "--args", "[2, 3]", "--wait", "--timeout", "20",
                 "--broker", server.url(), "--broker-password-file", file.path],
                environment: cleanEnvironment)
            #expect(call.status == 0, "\(call.standardError)")
            #expect(call.standardOutput.split(separator: "\n").last == "5")

            let missing = try await CommandRunner.run(
                executable("celeriac"), ["ping", "--broker", server.url(), "--broker-password-file", file.path + ".gone"],
                environment: cleanEnvironment)
            #expect(missing.status == 2)
            #expect(missing.standardError.contains("cannot read the broker password file"))
        }
    }

    @Test func unreachableRedisIsOneClearLine() async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let result = try await CommandRunner.run(
            executable("celeriac"), ["ping", "--broker", "redis://127.0.0.1:\(port)/0"], environment: cleanEnvironment)
        #expect(result.status == 1)
        #expect(result.standardOutput.isEmpty)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("celeriac: cannot reach the broker: cannot connect to Redis at") == true)
        #expect(lines.first?.contains("Connection refused") == true)
    }

    /// Every command that talks to Redis says so in one line and exits 1 when it cannot.
    @Test(arguments: [
        ["status"], ["inspect", "active"], ["control", "enable_events"], ["queues"], ["queues", "--json"],
        ["purge", "q", "-f"], ["dead", "list"], ["dead", "list", "--json"], ["watch", "some-id"], ["progress", "some-id"],
        ["result", "some-id"], ["apply", #"{"task": "celeriac.examples.noop"}"#], ["events", "--count", "1"],
    ])
    func everyCommandReportsAnUnreachableRedisInOneLine(arguments: [String]) async throws {
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let result = try await CommandRunner.run(
            executable("celeriac"), arguments + ["--broker", "redis://127.0.0.1:\(port)/0"], environment: cleanEnvironment)
        #expect(result.status == 1, "\(arguments): \(result.standardError)")
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1, "\(arguments): \(result.standardError)")
        #expect(lines.first?.contains("cannot connect to Redis at redis://127.0.0.1:\(port)/0") == true, "\(lines)")
    }

    @Test func usageErrorsExitWithTwo() async throws {
        let unknownOption = try await CommandRunner.run(executable("celeriac"), ["ping", "--bogus"])
        #expect(unknownOption.status == 2)
        #expect(unknownOption.standardError.contains("unknown option '--bogus'"))

        let unknownCommand = try await CommandRunner.run(executable("celeriac"), ["frobnicate"])
        #expect(unknownCommand.status == 2)
        #expect(unknownCommand.standardError.contains("unknown command 'frobnicate'"))

        let noCommand = try await CommandRunner.run(executable("celeriac"), [])
        #expect(noCommand.status == 2)

        let badURL = try await CommandRunner.run(executable("celeriac"), ["ping", "--broker", "http://x"])
        #expect(badURL.status == 2)
        #expect(badURL.standardError.contains("unsupported scheme 'http'"))
    }

    @Test(arguments: ["celeriac-worker", "celeriac-beat"])
    func workerAndBeatTakeTheSameOptions(name: String) async throws {
        let help = try await CommandRunner.run(executable(name), ["--help"])
        #expect(help.status == 0)
        #expect(help.standardOutput.contains("--broker URL"))
        #expect(help.standardOutput.contains("--backend URL"))

        let version = try await CommandRunner.run(executable(name), ["--version"])
        #expect(version.standardOutput.hasPrefix("\(name) 0.1.0"))

        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let port = refusing.port
        let schedule = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Examples/beat.json").path
        let unreachable = try await CommandRunner.run(
            executable(name), name == "celeriac-beat" ? ["--schedule", schedule] : [],
            environment: ["CELERIAC_BROKER_URL": "redis://127.0.0.1:\(port)/0"])
        #expect(unreachable.status == 1)
        #expect(unreachable.standardError.contains("cannot reach the broker"))

        let bogus = try await CommandRunner.run(executable(name), ["--bogus"])
        #expect(bogus.status == 2)
    }
}
