import Foundation
import Celeriac
import RESP
import Testing

@Suite struct CommandLineParserTests {
    let options = ConnectionSettings.options + [
        CommandLineOption("concurrency", short: "c", value: "N", help: "Tasks at once."),
        CommandLineOption("verbose", short: "v", help: "More output."),
        .help,
    ]

    @Test func valuesFlagsAndPositionals() throws {
        let parsed = try ParsedCommandLine(
            ["call", "--broker", "redis://a/1", "-c", "4", "-v", "--backend=redis://b/2", "task.name"],
            options: options)
        #expect(parsed.positionals == ["call", "task.name"])
        #expect(parsed.value("broker") == "redis://a/1")
        #expect(parsed.value("backend") == "redis://b/2")
        #expect(try parsed.integer("concurrency") == 4)
        #expect(parsed.flag("verbose"))
        #expect(!parsed.flag("help"))
    }

    @Test func attachedShortValueAndDoubleDash() throws {
        let parsed = try ParsedCommandLine(["-c8", "--", "--not-an-option"], options: options)
        #expect(try parsed.integer("concurrency") == 8)
        #expect(parsed.positionals == ["--not-an-option"])
    }

    @Test(arguments: [
        (["--bogus"], "unknown option '--bogus'"),
        (["-x"], "unknown option '-x'"),
        (["--broker"], "needs a value"),
        (["--verbose=yes"], "takes no value"),
    ])
    func usageErrorsNameTheArgument(arguments: [String], message: String) {
        let error = try? #require(throws: UsageError.self) { try ParsedCommandLine(arguments, options: options) }
        #expect(error?.message.contains(message) == true)
    }

    @Test func integerOutOfRange() throws {
        let parsed = try ParsedCommandLine(["-c", "zero"], options: options)
        #expect(throws: UsageError.self) { try parsed.integer("concurrency", in: 1...64) }
    }

    @Test func helpTextListsEveryOption() {
        let text = ParsedCommandLine.helpText(for: options)
        #expect(text.contains("--broker URL"))
        #expect(text.contains("-c, --concurrency N"))
        #expect(text.contains("-h, --help"))
    }
}

@Suite struct ConnectionSettingsTests {
    private func settings(_ arguments: [String], _ environment: [String: String]) throws -> ConnectionSettings {
        try ConnectionSettings(
            try ParsedCommandLine(arguments, options: ConnectionSettings.options), environment: environment)
    }

    @Test func defaults() throws {
        let resolved = try settings([], [:])
        #expect(resolved.brokerURL == "redis://127.0.0.1:6379/0")
        #expect(resolved.backendURL == resolved.brokerURL)
    }

    @Test func environmentThenOptions() throws {
        let environment = ["CELERIAC_BROKER_URL": "redis://env/0", "CELERIAC_RESULT_BACKEND": "redis://env/1"]
        #expect(try settings([], environment) == ConnectionSettings(brokerURL: "redis://env/0", backendURL: "redis://env/1"))
        #expect(try settings(["--broker", "redis://flag/0"], environment).brokerURL == "redis://flag/0")
        #expect(try settings(["--backend", "redis://flag/3"], environment).backendURL == "redis://flag/3")
    }

    @Test func backendDefaultsToTheBroker() throws {
        let resolved = try settings(["--broker", "redis://b/4"], ["CELERIAC_RESULT_BACKEND": ""])
        #expect(resolved.backendURL == "redis://b/4")
    }

    private func passwordFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("celeriac-pw-\(UUID().uuidString)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func passwordFilesAddTheirPasswordToTheURLs() throws {
        let brokerFile = try passwordFile("s3cret/?@:%\n")
        let backendFile = try passwordFile("other\r\n")
        defer { for file in [brokerFile, backendFile] { try? FileManager.default.removeItem(atPath: file) } }

        let broker = try settings(["--broker", "redis://h:1/2", "--broker-password-file", brokerFile], [:])
        #expect(try RedisConfiguration(url: broker.brokerURL).password == "s3cret/?@:%")
        #expect(try RedisConfiguration(url: broker.brokerURL).database == 2)
        #expect(broker.backendURL == broker.brokerURL, "the backend is the broker, password and all")

        let both = try settings(
            ["--broker", "redis://u:@h/0", "--backend-password-file", backendFile],
            ["CELERIAC_BROKER_PASSWORD_FILE": brokerFile])
        let brokerConfiguration = try RedisConfiguration(url: both.brokerURL)
        #expect(brokerConfiguration.username == "u" && brokerConfiguration.password == "s3cret/?@:%")
        let backendConfiguration = try RedisConfiguration(url: both.backendURL)
        #expect(backendConfiguration.username == "u" && backendConfiguration.password == "other")

        let socket = try settings(["--broker", "unix:///tmp/r.sock?db=3", "--broker-password-file", backendFile], [:])
        #expect(try RedisConfiguration(url: socket.brokerURL).password == "other")
        #expect(try RedisConfiguration(url: socket.brokerURL).database == 3)
    }

    @Test func badPasswordFilesAreUsageErrorsWithoutThePassword() throws {
        let file = try passwordFile("hunter2")
        let empty = try passwordFile("\n")
        defer { for path in [file, empty] { try? FileManager.default.removeItem(atPath: path) } }
        let cases: [([String], String)] = [
            (["--broker-password-file", "/nonexistent/pw"], "cannot read the broker password file '/nonexistent/pw'"),
            (["--backend-password-file", empty], "is empty"),
            (["--broker", "redis://:inline@h/0", "--broker-password-file", file], "holds a password already"),
            (["--broker", "bogus", "--broker-password-file", file], "is not a URL"),
        ]
        for (arguments, expected) in cases {
            do {
                _ = try settings(arguments, [:])
                Issue.record("\(arguments) was accepted")
            } catch let error as UsageError {
                #expect(error.message.contains(expected), "\(error)")
                #expect(!error.message.contains("hunter2") && !error.message.contains("inline"), "\(error)")
            }
        }
    }
}
