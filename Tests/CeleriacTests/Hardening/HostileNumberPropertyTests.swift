@testable import Celeriac
import Foundation
import Testing

/// Random numbers (NaN, ±infinity, huge, negative, fractions, Int.max) into every numeric header,
/// signature option and control argument: each is taken in range or refused with a reason, and
/// nothing traps. Seeded, so a failure repeats.
@Suite struct HostileNumberPropertyTests {
    /// SplitMix64: a small seeded generator.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let special: [JSONValue] = [
        .double(.nan), .double(.infinity), .double(-.infinity), .integer(.max), .integer(.min), .double(1e300),
        .double(-1e300), .double(1e17), -1, 0, 0.5, .double(Double(Int.max)), .double(.ulpOfOne), .double(-0.0), "12", .null,
    ]

    /// A hostile number: one of the special values, or a random double of any magnitude and sign.
    static func number(_ random: inout Seeded) -> JSONValue {
        if Bool.random(using: &random) { return special.randomElement(using: &random) ?? .null }
        let magnitude = Double.random(in: -320...320, using: &random)
        let value = pow(10, magnitude) * (Bool.random(using: &random) ? 1 : -1)
        return Bool.random(using: &random) ? .double(value) : .integer(Int(clamping: Int64(max(min(value, 9e18), -9e18))))
    }

    @Test func headersAndSignatureOptionsAreTakenInRangeOrRefused() throws {
        var random = Seeded(state: 2026_12_02)
        for _ in 0..<2000 {
            var message = TaskMessage(task: "celeriac.examples.add", args: [1, 2], origin: "o", replyTo: "r")
            message.headers["retries"] = Self.number(&random)
            message.headers["timelimit"] = [Self.number(&random), Self.number(&random)]
            message.headers["group_index"] = Self.number(&random)
            message.properties["priority"] = Self.number(&random)
            var options: JSONObject = [:]
            for name in ["countdown", "expires", "time_limit", "soft_time_limit", "priority"] where Bool.random(using: &random) {
                options[name] = Self.number(&random)
            }
            message.embed["chain"] = [Signature(task: "celeriac.examples.add", args: [3], options: options).jsonValue]
            do {
                let decoded = try TaskMessage(decoding: message.encoded())
                // Taken: every value as sent is in range, not just clamped on reading.
                for limit in decoded.headers["timelimit"]?.arrayValue ?? [] where limit != .null {
                    #expect(limit.doubleValue.flatMap(OutsideNumber.duration(seconds:)) != nil, "timelimit \(limit)")
                }
                if let retries = decoded.headers["retries"], retries != .null {
                    #expect(retries.intValue.map { (0...TaskMessage.maximumRetries).contains($0) } == true, "retries \(retries)")
                }
                #expect((0...TaskMessage.maximumRetries).contains(decoded.retries))
                for limit in [decoded.timeLimits.hard, decoded.timeLimits.soft].compactMap({ $0 }) {
                    #expect(limit >= .zero && limit <= .seconds(OutsideNumber.maximumSeconds))
                }
                let step = try Signature(decoded.embed["chain"]?.arrayValue?.first ?? .null)
                let taken = try step.taskOptions
                if let countdown = taken.countdown { #expect(countdown >= .zero) }
                _ = TaskMessage(task: step.task, options: taken, origin: "o", replyTo: "r").encoded()
                _ = QueueKeys.listKey(queue: decoded.queue, priority: decoded.priority)
            } catch let error as CeleryProtocolError {
                #expect(error.code == .invalidValue || error.code == .missingField, "\(error)")
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test func controlArgumentsAreTakenInRangeOrRefused() {
        var random = Seeded(state: 11)
        for _ in 0..<2000 {
            let request = ControlRequest(method: "x", arguments: ["n": Self.number(&random), "soft": Self.number(&random)])
            if let count = try? request.wholeNumber("n", default: 1, in: 1...256) { #expect((1...256).contains(count)) }
            if let limit = try? request.seconds("soft") {
                #expect(limit >= .zero && limit <= .seconds(OutsideNumber.maximumSeconds))
            }
            let rate = "\(Self.number(&random).doubleValue ?? 1)/\(["s", "m", "h"].randomElement(using: &random) ?? "s")"
            if let limit = try? RateLimit(parsing: rate) { #expect(limit.spacing > .zero) }
        }
    }

    /// Scores and counts as Redis could hold them: the conversions the worker makes never trap.
    @Test func redisStateConversionsNeverTrap() {
        var random = Seeded(state: 7)
        for _ in 0..<2000 {
            let value = Self.number(&random).doubleValue ?? 0
            _ = CeleryTimestamp.format(Date(timeIntervalSince1970: value))
            _ = BeatTiming.every(.seconds(60)).nextRun(after: Date(timeIntervalSince1970: value))
            _ = OutsideNumber.milliseconds(seconds: value)
            let count = Self.number(&random).intValue ?? 0
            _ = count.addingSaturated(Self.number(&random).intValue ?? 0)
            _ = count.multipliedSaturated(by: Self.number(&random).intValue ?? 0)
        }
    }
}
