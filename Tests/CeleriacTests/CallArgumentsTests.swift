import Celeriac
import Foundation
import Testing

@Suite struct CallArgumentsTests {
    private func parse(_ arguments: [String]) throws -> CallArguments {
        try CallArguments(ParsedCommandLine(arguments, options: CallArguments.options))
    }

    @Test func everyOption() throws {
        let call = try parse([
            "celeriac.examples.add", "--args", "[2, 3]", "--kwargs", #"{"z": true}"#, "--countdown", "1.5",
            "--expires", "60", "-Q", "jobs", "--priority", "9", "--wait", "--timeout", "10",
        ])
        #expect(call.taskName == "celeriac.examples.add")
        #expect(call.args == [2, 3])
        #expect(call.kwargs == ["z": true])
        #expect(call.options.countdown == .milliseconds(1500))
        #expect(call.options.expires == .after(.seconds(60)))
        #expect(call.options.queue == "jobs")
        #expect(call.options.priority == 9)
        #expect(call.wait)
        #expect(call.timeout == .seconds(10))
    }

    @Test func eta() throws {
        let call = try parse(["t", "--eta", "2030-01-01T12:00:00Z"])
        #expect(call.options.eta == Date(timeIntervalSince1970: 1_893_499_200))
    }

    @Test(arguments: [
        ([], "missing the task name"),
        (["t", "extra"], "unexpected argument 'extra'"),
        (["t", "--args", "[1,"], "--args is not valid JSON"),
        (["t", "--args", "{}"], "--args must be a JSON array"),
        (["t", "--kwargs", "[]"], "--kwargs must be a JSON object"),
        (["t", "--countdown", "soon"], "--countdown needs a number"),
        (["t", "--priority", "12"], "--priority"),
        (["t", "--eta", "tomorrow"], "is not an ISO 8601 time"),
        (["t", "--timeout", "3"], "--timeout needs --wait"),
    ])
    func usageErrorsSayWhatIsWrong(arguments: [String], message: String) {
        let error = try? #require(throws: UsageError.self) { try parse(arguments) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }
}
