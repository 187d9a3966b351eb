import Celeriac
import Foundation
import Testing

/// Celery 5.7's own messages, captured from Redis: Celeriac reads every one, writes each back byte
/// for byte, and builds the same messages for the same calls.
@Suite struct TaskMessageFixtureTests {
    @Test func thereAreFixtures() {
        #expect(CeleryFixtures.brokerMessages.count == 27)
    }

    @Test(arguments: CeleryFixtures.brokerMessages)
    func decodesAndReencodesByteForByte(name: String) throws {
        let raw = try CeleryFixtures.bytes("broker", name)
        let message = try TaskMessage(decoding: raw)
        #expect(!message.id.isEmpty)
        #expect(!message.taskName.isEmpty)
        let expectedBody = try JSONValue(parsing: CeleryFixtures.bytes("broker", name, "body.json"))
        #expect(JSONValue.array([.array(message.args), .object(message.kwargs), .object(message.embed)]) == expectedBody)
        #expect(message.encoded() == raw, "\(name) re-encoded differently")
    }

    @Test func typedAccessors() throws {
        let countdown = try TaskMessage(decoding: CeleryFixtures.bytes("broker", "task-countdown"))
        #expect(countdown.taskName == "celeriac.examples.add")
        #expect(countdown.eta == (try CeleryTimestamp.parse("2026-11-22T15:56:53.360020+00:00")))
        #expect(countdown.args == [1, 1])

        let priority = try TaskMessage(decoding: CeleryFixtures.bytes("broker", "task-priority-6"))
        #expect(priority.priority == 6)
        let queued = try TaskMessage(decoding: CeleryFixtures.bytes("broker", "task-queue-q1"))
        #expect(queued.routingKey == "capture.q1")
        let options = try TaskMessage(decoding: CeleryFixtures.bytes("broker", "task-options"))
        #expect(options.headers["x-custom"] == "value")
        #expect(options.headers["timelimit"] == [30, 20])
        let link = try TaskMessage(decoding: CeleryFixtures.bytes("broker", "task-link"))
        #expect(link.embed["callbacks"]?.arrayValue?.first?["task"] == "celeriac.examples.mul")
    }

    /// The builder against `app.send_task('celeriac.examples.mul', args=[6, 7])`: identical bytes
    /// once the id, reply_to, origin and delivery tag of the capture are given.
    @Test func buildsTheSameMessageAsSendTask() throws {
        let raw = try CeleryFixtures.bytes("broker", "task-send-task")
        let captured = try TaskMessage(decoding: raw)
        let built = TaskMessage(
            task: "celeriac.examples.mul", args: [6, 7], options: TaskOptions(taskID: captured.id),
            origin: "gen18266@vm", replyTo: try #require(captured.properties["reply_to"]?.stringValue),
            deliveryTag: try #require(captured.deliveryTag))
        #expect(built.encoded() == raw)
    }

    /// `apply_async` fixtures with options: every field equal but the times (computed from "now")
    /// and `argsrepr` (Python writes a tuple there, `send_task` a list).
    @Test(arguments: [
        ("task-simple", TaskOptions(ignoreResult: false)),
        ("task-priority-3", TaskOptions(priority: 3, ignoreResult: false)),
        ("task-priority-9", TaskOptions(priority: 9, ignoreResult: false)),
        ("task-queue-q1", TaskOptions(queue: "capture.q1", ignoreResult: false)),
        ("task-ignore-result", TaskOptions(ignoreResult: true)),
        ("task-custom-id", TaskOptions(ignoreResult: false)),
        ("task-options", TaskOptions(
            ignoreResult: false, timeLimit: .seconds(30), softTimeLimit: .seconds(20), shadow: "add-shadowed", headers: ["x-custom": "value"])),
        ("task-countdown", TaskOptions(countdown: .seconds(30), ignoreResult: false)),
        ("task-expires-seconds", TaskOptions(expires: .after(.seconds(60)), ignoreResult: false)),
        ("task-eta", TaskOptions(eta: Date(timeIntervalSince1970: 1_893_499_200), ignoreResult: false)),
    ])
    func buildsApplyAsyncMessagesFieldByField(name: String, options: TaskOptions) throws {
        let captured = try TaskMessage(decoding: CeleryFixtures.bytes("broker", name))
        var options = options
        options.taskID = captured.id
        let built = TaskMessage(
            task: captured.taskName, args: captured.args, kwargs: captured.kwargs, options: options,
            origin: "gen18266@vm", replyTo: try #require(captured.properties["reply_to"]?.stringValue),
            deliveryTag: try #require(captured.deliveryTag))
        #expect(built.headers.keys == captured.headers.keys)
        #expect(built.properties.keys == captured.properties.keys)
        for key in captured.headers.keys where !["eta", "expires", "argsrepr"].contains(key) {
            #expect(built.headers[key] == captured.headers[key], "header \(key) of \(name)")
        }
        for key in captured.properties.keys {
            #expect(built.properties[key] == captured.properties[key], "property \(key) of \(name)")
        }
        #expect(built.headers["eta"]?.isNull == captured.headers["eta"]?.isNull)
        #expect(built.headers["expires"]?.isNull == captured.headers["expires"]?.isNull)
        #expect(built.args == captured.args)
        #expect(built.kwargs == captured.kwargs)
        #expect(built.embed == captured.embed)
    }

    @Test(arguments: ["2026-11-22T15:56:53.360020+00:00", "2030-01-01T12:00:00.000000+00:00", "1999-12-31T23:59:59.999999+00:00"])
    func timestampsAreWrittenLikeCelery(text: String) throws {
        #expect(CeleryTimestamp.format(try CeleryTimestamp.parse(text)) == text)
    }

    @Test func timestampsParseInEveryCeleryForm() throws {
        let expected = Date(timeIntervalSince1970: 1_893_499_200)
        #expect(try CeleryTimestamp.parse("2030-01-01T12:00:00+00:00") == expected)
        #expect(try CeleryTimestamp.parse("2030-01-01T12:00:00Z") == expected)
        #expect(try CeleryTimestamp.parse("2030-01-01T13:30:00+01:30") == expected)
        #expect(try CeleryTimestamp.parse("2030-01-01 12:00:00") == expected)
        #expect(try CeleryTimestamp.parse("2030-01-01T12:00:00.500000+00:00") == expected.addingTimeInterval(0.5))
        #expect(throws: CeleryProtocolError.self) { try CeleryTimestamp.parse("yesterday") }
    }
}

/// Bad input is a clear, typed error (the worker will dead-letter such messages with it).
@Suite struct MalformedMessageTests {
    private func error(for text: String) -> CeleryProtocolError? {
        try? #require(throws: CeleryProtocolError.self) { try TaskMessage(decoding: Array(text.utf8)) }
    }

    @Test func badEnvelopes() {
        #expect(error(for: "not json")?.code == .invalidJSON)
        #expect(error(for: "[1, 2]")?.code == .missingField)
        #expect(error(for: #"{"body": "x", "headers": {"task": "t", "id": "i"}, "properties": {"body_encoding": "base64"}}"#)?.code
            == .invalidBase64)
        let pickle = error(for: #"{"body": "x", "content-type": "application/x-python-serialize", "headers": {}}"#)
        #expect(pickle?.code == .unsupportedContentType)
        #expect(pickle?.message.contains("JSON") == true)
    }

    @Test func missingHeadersAreNamed() throws {
        let body = Data(#"[[], {}, {}]"#.utf8).base64EncodedString()
        let noID = error(for: #"{"body": "\#(body)", "headers": {"task": "t"}, "properties": {"body_encoding": "base64"}}"#)
        #expect(noID?.message.contains("'id'") == true)
        let noTask = error(for: #"{"body": "\#(body)", "headers": {"id": "i"}, "properties": {"body_encoding": "base64"}}"#)
        #expect(noTask?.message.contains("'task'") == true)
    }

    /// Celery 5 with `task_protocol = 1`: everything in the body; read into the protocol 2 form.
    @Test func protocolOneIsReadAsCeleryReadsIt() throws {
        let message = try TaskMessage(decoding: CeleryFixtures.bytes("protocol1", "task-countdown-link"))
        #expect(message.id == "p1-add")
        #expect(message.taskName == "celeriac.examples.add")
        #expect(message.args == [2, 3])
        #expect(message.kwargs.isEmpty)
        #expect(message.eta == (try CeleryTimestamp.parse("2026-12-02T20:18:36.428786+00:00")))
        #expect(message.expires == (try CeleryTimestamp.parse("2026-12-02T21:18:31.428786+00:00")))
        #expect(message.timeLimits.hard == .seconds(30))
        #expect(message.timeLimits.soft == nil)
        #expect(message.retries == 0)
        #expect(message.deliveryTag == "2cb63670-3b26-4c1f-8568-f0d46edf3db9")
        #expect(message.embed["callbacks"]?.arrayValue?.first?["args"] == [10])
        #expect(message.headers["args"] == nil && message.headers["callbacks"] == nil)
    }

    @Test func protocolOneWithLocalTimesIsRefusedByName() {
        let local = Data(#"{"task": "t", "id": "i", "args": [], "kwargs": {}, "eta": "2026-01-01T00:00:00", "utc": false}"#.utf8)
        let refused = error(for: #"{"body": "\#(local.base64EncodedString())", "headers": {}, "properties": {"body_encoding": "base64"}}"#)
        #expect(refused?.code == .unsupportedProtocol)
        let badArgs = Data(#"{"task": "t", "id": "i", "args": 5}"#.utf8)
        #expect(error(for: #"{"body": "\#(badArgs.base64EncodedString())", "headers": {}, "properties": {"body_encoding": "base64"}}"#)?.code
            == .missingField)
        let badRetries = Data(#"{"task": "t", "id": "i", "retries": -4}"#.utf8)
        #expect(error(for: #"{"body": "\#(badRetries.base64EncodedString())", "headers": {}, "properties": {"body_encoding": "base64"}}"#)?.code
            == .invalidValue)
    }

    @Test func bodyMustBeArgsKwargsEmbed() {
        let body = Data(#"{"args": []}"#.utf8).base64EncodedString()
        let wrong = error(for: #"{"body": "\#(body)", "headers": {"id": "i", "task": "t"}, "properties": {"body_encoding": "base64"}}"#)
        #expect(wrong?.code == .missingField)
    }

    @Test func onlyIdAndTaskAreRequired() throws {
        let body = Data(#"[[1], {"a": 2}, {}]"#.utf8).base64EncodedString()
        let message = try TaskMessage(decoding: Array(
            #"{"body": "\#(body)", "headers": {"id": "i", "task": "t", "x-unknown": [1]}, "properties": {"body_encoding": "base64"}}"#.utf8))
        #expect(message.args == [1])
        #expect(message.kwargs["a"] == 2)
        #expect(message.retries == 0)
        #expect(message.priority == 0)
    }
}
