import Celeriac
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
        ConnectionSettings(
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
}
