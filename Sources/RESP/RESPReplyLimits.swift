/// Bounds on what one reply from a server may hold. hiredis would buffer a bulk string of any
/// announced length, reserve memory for any announced array size (`*2147483647` makes it
/// reserve 16 GiB) and keep an error line of any length; a server that is not Redis, or a
/// Redis holding hostile data, could take the client's memory. Past a limit the connection fails
/// with ``RedisClientError/Code/protocolError`` naming the limit.
public struct RESPReplyLimits: Sendable, Hashable {
    /// The longest bulk string (Redis' own `proto-max-bulk-len` default: 512 MB).
    public var maximumBulkLength: Int
    /// The most array elements in one reply, counted over every nesting level.
    public var maximumElements: Int
    /// The deepest nesting of arrays.
    public var maximumDepth: Int
    /// The longest simple string, error or integer line.
    public var maximumLineLength: Int

    /// Limits; the defaults take anything a real Redis sends to a queue client.
    public init(
        maximumBulkLength: Int = 512 * 1024 * 1024, maximumElements: Int = 8 * 1024 * 1024, maximumDepth: Int = 32,
        maximumLineLength: Int = 64 * 1024
    ) {
        self.maximumBulkLength = max(0, maximumBulkLength)
        self.maximumElements = max(0, maximumElements)
        self.maximumDepth = max(1, maximumDepth)
        self.maximumLineLength = max(16, maximumLineLength)
    }

    /// The defaults.
    public static let standard = RESPReplyLimits()
}

/// Watches the bytes of a reply stream before hiredis parses them, and refuses a header that
/// passes a ``RESPReplyLimits`` bound. Incremental: bytes may arrive in any pieces.
struct RESPReplyGuard {
    let limits: RESPReplyLimits
    /// Bulk payload bytes (with their CRLF) still to pass.
    private var bulkRemaining = 0
    /// The header line read so far (a type byte and its text up to CR).
    private var line: [UInt8] = []
    private var lineComplete = false
    /// Elements still expected at each open array level.
    private var open: [Int] = []
    /// Elements announced in the current top-level reply.
    private var elements = 0

    init(limits: RESPReplyLimits) {
        self.limits = limits
    }

    /// Checks `bytes`, the next bytes from the server.
    /// - Throws: ``RESPReplyGuard/Violation`` naming the limit passed.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) throws(Violation) {
        var index = 0
        while index < bytes.count {
            if bulkRemaining > 0 {
                let skipped = min(bulkRemaining, bytes.count - index)
                bulkRemaining -= skipped
                index += skipped
                if bulkRemaining == 0 { valueEnded() }
                continue
            }
            let byte = bytes[index]
            index += 1
            if lineComplete {
                // hiredis ends a line only at CR LF and reads a CR before anything else as part of
                // the line; refusing a bare CR keeps this scan and hiredis' parse in step.
                guard byte == UInt8(ascii: "\n") else {
                    throw Violation("a reply line holds a CR that is not followed by LF")
                }
                lineComplete = false
                try header()
                line.removeAll(keepingCapacity: true)
                continue
            }
            if byte == UInt8(ascii: "\r") {
                lineComplete = true
                continue
            }
            guard line.count < limits.maximumLineLength else {
                throw Violation("a reply line is longer than \(limits.maximumLineLength) bytes")
            }
            line.append(byte)
        }
    }

    private mutating func header() throws(Violation) {
        guard let type = line.first else { return }
        switch type {
        case UInt8(ascii: "$"):
            let length = try length(of: "bulk string")
            if length < 0 { return valueEnded() }
            guard length <= limits.maximumBulkLength else {
                throw Violation("a bulk string of \(length) bytes passes the limit of \(limits.maximumBulkLength)")
            }
            bulkRemaining = length + 2
        case UInt8(ascii: "*"):
            let count = try length(of: "array")
            if count <= 0 { return valueEnded() }
            elements = elements.addingReportingOverflow(count).partialValue
            guard count <= limits.maximumElements, elements <= limits.maximumElements else {
                throw Violation("a reply of more than \(limits.maximumElements) array elements passes the limit")
            }
            guard open.count < limits.maximumDepth else {
                throw Violation("a reply nests arrays deeper than \(limits.maximumDepth) levels")
            }
            open.append(count)
        default:
            valueEnded()
        }
    }

    /// The header's length: `-1` (nil) or decimal digits that fit an `Int`. hiredis reads a
    /// length of other text as nil, a `+` sign as nothing and an overflow by wrapping around, so
    /// anything but these forms is refused here rather than parsed one way here and another there.
    private func length(of kind: String) throws(Violation) -> Int {
        let text = line.dropFirst()
        if text.elementsEqual("-1".utf8) { return -1 }
        guard !text.isEmpty else { throw Violation("a \(kind) header has no length") }
        var value = 0
        for byte in text {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw Violation("a \(kind) header holds a length that is not -1 or decimal digits")
            }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw Violation("a \(kind) length does not fit 64 bits") }
            value = next
        }
        return value
    }

    /// One value is complete: count it against its array, closing every array it completes.
    private mutating func valueEnded() {
        while let last = open.last {
            if last > 1 {
                open[open.count - 1] = last - 1
                return
            }
            open.removeLast()
        }
        elements = 0
    }

    /// A limit was passed.
    struct Violation: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
