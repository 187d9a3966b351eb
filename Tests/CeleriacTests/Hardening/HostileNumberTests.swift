@testable import Celeriac
import Foundation
import Testing

/// Numbers from outside (headers, options, control arguments, Redis state) that used to trap:
/// each is refused with a reason or held in range. No server needed.
@Suite struct HostileNumberTests {
    static let hostile: [Double] = [.nan, .infinity, -.infinity, 1e17, 1e300, -1e300, Double(Int.max), -1, 0.5]

    /// A message as a Python producer sends it, with `headers` patched by `edit`.
    private func envelope(_ edit: (inout TaskMessage) -> Void) -> [UInt8] {
        var message = TaskMessage(task: "celeriac.examples.add", args: [1, 2], origin: "test@host", replyTo: "r")
        edit(&message)
        return message.encoded()
    }

    private func decodeError(_ bytes: [UInt8]) -> CeleryProtocolError? {
        do {
            _ = try TaskMessage(decoding: bytes)
            return nil
        } catch let error as CeleryProtocolError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func outsideNumbersConvertOnlyWhatIsInRange() {
        for value in [Double.nan, .infinity, -.infinity, 1e17, 1e300, -1] { #expect(OutsideNumber.duration(seconds: value) == nil) }
        #expect(OutsideNumber.duration(seconds: 1.5) == .milliseconds(1500))
        #expect(OutsideNumber.countdown(seconds: -5) == .zero)
        #expect(OutsideNumber.countdown(seconds: -1e300) == .zero)
        #expect(OutsideNumber.countdown(seconds: .infinity) == nil)
        #expect(OutsideNumber.integer(Double(Int.max), in: 0...10) == nil)
        #expect(OutsideNumber.integer(.nan, in: 0...10) == nil)
        #expect(OutsideNumber.integer(2.5, in: 0...10) == nil)
        #expect(OutsideNumber.integer(7, in: 0...10) == 7)
        #expect(OutsideNumber.milliseconds(.seconds(Int64.max)) == Int(OutsideNumber.maximumSeconds * 1000))
        #expect(Int.max.addingSaturated(1) == .max)
        #expect(Int.min.addingSaturated(-1) == .min)
        #expect(Int.max.multipliedSaturated(by: -2) == .min)
        #expect((1 << 40).multipliedSaturated(by: 1 << 40) == .max)
    }

    /// Case 1 (`timelimit` of 1e17 or Infinity) and case 8 (`retries` = Int.max): refused at
    /// decoding, so that no path (batched fetch, BRPOP hand-over, ETA promotion) runs them.
    @Test func outOfRangeHeadersAreRefusedWithTheFieldNamed() throws {
        for value in Self.hostile where value < 0 || value > OutsideNumber.maximumSeconds || !value.isFinite {
            let hard = decodeError(envelope { $0.headers["timelimit"] = [.double(value), nil] })
            #expect(hard?.code == .invalidValue)
            #expect(hard?.message.contains("headers.timelimit") == true)
            let soft = decodeError(envelope { $0.headers["timelimit"] = [nil, .double(value)] })
            #expect(soft?.code == .invalidValue)
        }
        for retries: JSONValue in [.integer(.max), -1, .double(.nan), 2.5, "3"] {
            let error = decodeError(envelope { $0.headers["retries"] = retries })
            #expect(error?.code == .invalidValue, "retries \(retries)")
            #expect(error?.message.contains("headers.retries") == true)
        }
        for bad: JSONValue in ["tomorrow", 5, "99999-01-01T00:00:00"] {
            #expect(decodeError(envelope { $0.headers["eta"] = bad })?.code == .invalidValue)
            #expect(decodeError(envelope { $0.headers["expires"] = bad })?.code == .invalidValue)
        }
        #expect(decodeError(envelope { $0.headers["group_index"] = -1 })?.code == .invalidValue)
        #expect(decodeError(envelope { $0.headers["timelimit"] = "10" })?.code == .invalidValue)
        // In range: decodes, and reads back as durations.
        let fine = try TaskMessage(decoding: envelope {
            $0.headers["timelimit"] = [30, 2.5]
            $0.headers["retries"] = .integer(TaskMessage.maximumRetries)
        })
        #expect(fine.timeLimits.hard == .seconds(30))
        #expect(fine.timeLimits.soft == .milliseconds(2500))
        #expect(fine.retries == TaskMessage.maximumRetries)
    }

    /// A message built in code is not checked: its accessors still never trap.
    @Test func accessorsHoldValuesOfUncheckedMessages() {
        var message = TaskMessage(task: "t", origin: "o", replyTo: "r")
        message.headers["retries"] = .integer(.max)
        message.headers["timelimit"] = [.double(.infinity), .double(1e300)]
        #expect(message.retries == TaskMessage.maximumRetries)
        #expect(message.timeLimits.hard == nil && message.timeLimits.soft == nil)
    }

    /// Case 2: a chain step or callback with `countdown` / `expires` of 1e300, at any depth.
    @Test func outOfRangeSignatureOptionsAreRefusedAtAnyDepth() {
        let poison = Signature(task: "celeriac.examples.add", args: [1], options: ["countdown": 1e300])
        let expiring = Signature(task: "celeriac.examples.add", args: [1], options: ["expires": .double(.infinity)])
        let limited = Signature(task: "celeriac.examples.add", options: ["soft_time_limit": -3])
        #expect(throws: CeleryProtocolError.self) { _ = try poison.taskOptions }
        #expect(throws: CeleryProtocolError.self) { _ = try expiring.taskOptions }
        #expect(throws: CeleryProtocolError.self) { _ = try limited.taskOptions }

        let nested = Signature(task: "celeriac.examples.add", options: ["link": .array([expiring.jsonValue])])
        let inGroup = Signature.group(Signature(task: "celeriac.examples.add"), limited)
        let inChord = Signature.chord([Signature(task: "celeriac.examples.add")], body: poison)
        let cases: [(String, JSONValue)] = [
            ("chain", .array([poison.jsonValue])), ("callbacks", .array([nested.jsonValue])),
            ("errbacks", .array([inGroup.jsonValue])), ("chain", .array([inChord.jsonValue])), ("chord", poison.jsonValue),
            ("chain", .array(["not a signature"])), ("callbacks", "not a list"),
        ]
        for (field, value) in cases {
            let error = decodeError(envelope { $0.embed[field] = value })
            #expect(error != nil, "embed.\(field) = \(value)")
            #expect(error?.message.contains("embed.\(field)") == true)
        }
        // Celery's negative countdown means "now".
        let now = Signature(task: "celeriac.examples.add", options: ["countdown": -5])
        #expect((try? now.taskOptions)?.countdown == .zero)
    }

    /// Case 4: `rate_limit "1e-300/s"` (one start per 10^292 years) and its opposite.
    @Test func rateLimitsOutsideANanosecondTo100YearsAreRefused() throws {
        for text in ["1e-300/s", "1e-300", "1e300/s", "nan/s", "inf/m", "-1/s"] {
            #expect(throws: CeleriacError.self, "\(text)") { try RateLimit(parsing: text) }
        }
        #expect(try RateLimit(parsing: "10/s").spacing == .milliseconds(100))
        #expect(RateLimit(count: 1e-300, per: .seconds(1)).spacing <= .seconds(OutsideNumber.maximumSeconds))
        #expect(RateLimit(count: 1e300, per: .seconds(1)).spacing == .nanoseconds(1))
        #expect(RateLimit(count: .nan, per: .seconds(1)).spacing == .nanoseconds(1))
        #expect(RateLimit(count: 1e300, per: .seconds(1)).description == "1e+300/s")
    }

    /// Case 4: control arguments are refused with an error reply, never converted blindly.
    @Test func controlArgumentsAreCheckedWithAReason() throws {
        let request = ControlRequest(method: "time_limit", arguments: [
            "soft": 1e300, "hard": .double(.nan), "n": .integer(.max), "ok": 2, "fraction": 1.5, "text": "7",
        ])
        #expect(throws: ControlArgumentError.self) { try request.seconds("soft") }
        #expect(throws: ControlArgumentError.self) { try request.seconds("hard") }
        #expect(throws: ControlArgumentError.self) { try request.wholeNumber("n", default: 1, in: 1...256) }
        #expect(throws: ControlArgumentError.self) { try request.wholeNumber("fraction", default: 1, in: 1...256) }
        #expect(throws: ControlArgumentError.self) { try request.wholeNumber("text", default: 1, in: 1...256) }
        #expect(try request.wholeNumber("ok", default: 1, in: 1...256) == 2)
        #expect(try request.wholeNumber("absent", default: 1, in: 1...256) == 1)
        #expect(try request.seconds("ok") == .seconds(2))
        do {
            _ = try request.wholeNumber("n", default: 1, in: 1...256)
        } catch {
            #expect(error.reply["error"]?.stringValue?.contains("n must be a whole number in 1...256") == true)
        }
    }

    /// Case 5: a `hello` reply with `clock` = Int.max is ignored, and ticking never overflows.
    @Test func mingleIgnoresClocksOutOfRange() {
        let replies: JSONObject = [
            "a@h": ["revoked": ["x"], "clock": .integer(.max)], "b@h": ["revoked": ["y"], "clock": 41],
            "c@h": ["clock": .double(.nan)], "me@h": ["revoked": ["z"], "clock": 99],
        ]
        let mingled = Worker.mingled(replies, ownNode: "me@h")
        #expect(mingled.clock == 41)
        #expect(mingled.revoked == ["x", "y"])
        #expect(Set(mingled.ignoredClocks) == ["a@h", "c@h"])
    }

    /// Timestamps out of Python's range (years 1–9999) are written as its ends, never trap.
    @Test func timestampsOutOfRangeAreHeld() throws {
        #expect(CeleryTimestamp.format(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59.000000+00:00")
        #expect(CeleryTimestamp.format(Date(timeIntervalSince1970: -.infinity)).hasPrefix("0001-01-01T00:00:00"))
        #expect(CeleryTimestamp.format(Date(timeIntervalSince1970: .nan)) == "1970-01-01T00:00:00.000000+00:00")
    }

    /// Beat: periods past 100 years are refused; references far out of range give no next run.
    @Test func beatTimingNeverOverflows() throws {
        #expect(throws: CeleriacError.self) { try BeatTiming.parsePeriod("1e300d") }
        let period = try BeatTiming.parsePeriod("36500d")
        #expect(BeatTiming.every(period).nextRun(after: Date(timeIntervalSince1970: 1e300)) == nil)
        #expect(BeatTiming.every(period).nextRun(after: Date(timeIntervalSince1970: 0)) != nil)
    }
}

/// Strings from Redis reach a terminal escaped.
@Suite struct TerminalTextTests {
    @Test func controlCharactersAreEscaped() {
        #expect(TerminalText.safe("plain text\twith tab") == "plain text\twith tab")
        #expect(TerminalText.safe("\u{1B}]0;owned\u{07}Error") == "\\e]0;owned\\u{7}Error")
        #expect(TerminalText.safe("two\nlines\r\0") == "two\\nlines\\r\\u{0}")
        #expect(TerminalText.safe("two\nlines", keepNewlines: true) == "two\nlines")
        #expect(TerminalText.safe("c1 \u{9B}31m") == "c1 \\u{9b}31m")
        #expect(TerminalText.safe("é ✓ 😀") == "é ✓ 😀")
    }
}
