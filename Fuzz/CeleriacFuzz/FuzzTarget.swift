import Celeriac
import RESP

/// What one fuzzing input is fed to. Each target must never crash, hang or grow without bound on
/// any bytes; an input it refuses is fine, as long as the refusal is a thrown error.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// A queue entry as a worker pops it: the kombu envelope, its body, the checks the worker
    /// runs before a task starts, and the embedded signatures (callbacks, chain steps, chord).
    case message
    /// Bytes from a Redis server, through the reply guard and hiredis' reader, with small limits
    /// so that the fuzzer reaches them.
    case resp

    /// Limits small enough that short inputs pass them.
    static let fuzzingLimits = RESPReplyLimits(
        maximumBulkLength: 4096, maximumElements: 512, maximumDepth: 8, maximumLineLength: 256)

    /// Runs one input.
    func run(_ bytes: [UInt8]) {
        switch self {
        case .message: Self.decodeMessage(bytes)
        case .resp: Self.readReplies(bytes)
        }
    }

    private static func decodeMessage(_ bytes: [UInt8]) {
        guard let message = try? TaskMessage(decoding: bytes) else { return }
        // What the worker reads of a message before and while running it.
        _ = (message.id, message.taskName, message.retries, message.timeLimits, message.eta, message.expires)
        _ = (message.priority, message.queue, message.minimumEncodedSize(stoppingAfter: 1 << 20))
        for key in ["callbacks", "errbacks", "chain"] {
            for value in message.embed[key]?.arrayValue ?? [] {
                _ = try? Signature(value).taskOptions
            }
        }
        if let chord = message.embed["chord"], let body = try? Signature(chord) { _ = try? body.taskOptions }
        // What was read is what is written: a decoded message encodes to one that decodes and
        // encodes to the same bytes (bytes, not values: NaN, which Python's json writes, is not equal to itself).
        let encoded = message.encoded()
        let again: TaskMessage
        do {
            again = try TaskMessage(decoding: encoded)
        } catch {
            fatalError("a decoded message does not decode again after encoding (\(error)): \(shown(encoded))")
        }
        guard again.encoded() == encoded, again.id == message.id, again.taskName == message.taskName else {
            fatalError("a message changed over encode and decode: \(shown(encoded))")
        }
    }

    private static func shown(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(1024), as: UTF8.self)
    }

    private static func readReplies(_ bytes: [UInt8]) {
        guard let replies = try? RESPReader.parse(bytes, limits: fuzzingLimits) else { return }
        for reply in replies {
            _ = reply.description
            // What the guard let through is within its limits: if hiredis parsed the bytes another
            // way than the guard scanned them, a value shows it here before an allocation does.
            var elements = 0
            guard withinLimits(reply, depth: 0, elements: &elements) else {
                fatalError("a reply past the limits passed the guard: \(shown(bytes))")
            }
        }
    }

    private static func withinLimits(_ value: RESPValue, depth: Int, elements: inout Int) -> Bool {
        switch value {
        case .bulkString(let bytes): return bytes.count <= fuzzingLimits.maximumBulkLength
        case .array(let values):
            elements += values.count
            guard depth < fuzzingLimits.maximumDepth, elements <= fuzzingLimits.maximumElements else { return false }
            return values.allSatisfy { withinLimits($0, depth: depth + 1, elements: &elements) }
        case .simpleString, .error, .integer, .null: return true
        }
    }
}
