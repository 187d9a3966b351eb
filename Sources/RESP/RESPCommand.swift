import Foundation

/// A value that can be one argument of a Redis command.
///
/// `String` and `Substring` are sent as UTF-8, `[UInt8]`, `ArraySlice<UInt8>` and `Data` as they are,
/// integers and `Double` as their decimal text (what Redis expects for counts, scores and timeouts).
public protocol RESPArgument: Sendable {
    /// Appends the argument's bytes to `buffer`.
    func appendRESPBytes(to buffer: inout [UInt8])

    /// The number of bytes ``appendRESPBytes(to:)`` appends, when known without writing them
    /// (`nil` by default).
    var respByteCount: Int? { get }
}

extension RESPArgument {
    public var respByteCount: Int? { nil }
}

extension String: RESPArgument {
    public func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
    public var respByteCount: Int? { utf8.count }
}

extension Substring: RESPArgument {
    public func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: utf8) }
    public var respByteCount: Int? { utf8.count }
}

extension Array: RESPArgument where Element == UInt8 {
    public func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
    public var respByteCount: Int? { count }
}

extension ArraySlice: RESPArgument where Element == UInt8 {
    public func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
    public var respByteCount: Int? { count }
}

extension Data: RESPArgument {
    public func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
    public var respByteCount: Int? { count }
}

extension Int: RESPArgument {
    public func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Int64: RESPArgument {
    public func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension UInt: RESPArgument {
    public func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: String(self).utf8) }
}

extension Double: RESPArgument {
    /// Infinite values are sent as `+inf`/`-inf`, the spelling sorted-set commands accept.
    public func appendRESPBytes(to buffer: inout [UInt8]) {
        let text: String
        if self == .infinity {
            text = "+inf"
        } else if self == -.infinity {
            text = "-inf"
        } else {
            text = String(self)
        }
        buffer.append(contentsOf: text.utf8)
    }
}

/// One Redis command: a vector of binary-safe arguments, the first being the command name.
///
/// The arguments are kept in one contiguous buffer so that building and sending a command costs a
/// couple of allocations, whatever its length.
///
/// ```swift
/// let push = RESPCommand("LPUSH", "celery", messageBytes)
/// var set = RESPCommand("SET", key, value)
/// set.append("EX"); set.append(60)
/// ```
public struct RESPCommand: Sendable, Hashable {
    /// All argument bytes, back to back.
    private(set) var storage: [UInt8]
    /// The end offset in `storage` of each argument.
    private(set) var argumentEnds: [Int]

    /// Creates a command from its name and arguments.
    public init(_ name: String, _ arguments: any RESPArgument...) {
        self.init(name, arguments: arguments)
    }

    /// Creates a command from its name and an array of arguments.
    public init(_ name: String, arguments: [any RESPArgument]) {
        storage = []
        storage.reserveCapacity(name.utf8.count + 16 * arguments.count)
        argumentEnds = []
        argumentEnds.reserveCapacity(arguments.count + 1)
        append(name)
        append(contentsOf: arguments)
    }

    /// Appends one argument.
    public mutating func append(_ argument: some RESPArgument) {
        argument.appendRESPBytes(to: &storage)
        argumentEnds.append(storage.count)
    }

    /// Appends one argument given as an existential.
    public mutating func append(_ argument: any RESPArgument) {
        argument.appendRESPBytes(to: &storage)
        argumentEnds.append(storage.count)
    }

    /// Appends several arguments of one type.
    public mutating func append<S: Sequence>(contentsOf arguments: S) where S.Element: RESPArgument {
        for argument in arguments { append(argument) }
    }

    /// Appends several arguments of mixed types.
    public mutating func append(contentsOf arguments: [any RESPArgument]) {
        for argument in arguments { append(argument) }
    }

    /// The number of arguments, the name included.
    public var count: Int { argumentEnds.count }

    /// The arguments, the name first, as separate byte arrays.
    public var arguments: [[UInt8]] {
        var start = 0
        return argumentEnds.map { end in
            defer { start = end }
            return Array(storage[start..<end])
        }
    }

    /// The command name in upper case (`GET`, `EVALSHA`), for errors and logs.
    public var name: String {
        let end = argumentEnds.first ?? 0
        return String(decoding: storage[0..<end], as: UTF8.self).uppercased()
    }

    /// Appends the command's RESP encoding (`*<count>\r\n` then `$<length>\r\n<bytes>\r\n` per
    /// argument) to `buffer`; commands of a pipeline are encoded back to back into one buffer.
    func encode(into buffer: inout [UInt8]) {
        var size = 3 + Self.decimalDigits(argumentEnds.count)
        var start = 0
        for end in argumentEnds {
            size += 5 + Self.decimalDigits(end - start) + (end - start)
            start = end
        }
        let offset = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: size))
        buffer.withUnsafeMutableBufferPointer { output in
            storage.withUnsafeBufferPointer { input in
                // Both buffers hold at least the header bytes, so neither base address is nil here.
                guard var cursor = output.baseAddress.map({ $0 + offset }) else { return }
                cursor = Self.writeHeader(UInt8(ascii: "*"), argumentEnds.count, at: cursor)
                var argumentStart = 0
                for end in argumentEnds {
                    let length = end - argumentStart
                    cursor = Self.writeHeader(UInt8(ascii: "$"), length, at: cursor)
                    if length > 0, let source = input.baseAddress {
                        cursor.update(from: source + argumentStart, count: length)
                        cursor += length
                    }
                    cursor[0] = 13
                    cursor[1] = 10
                    cursor += 2
                    argumentStart = end
                }
            }
        }
    }

    /// Writes `<marker><decimal value>\r\n` and returns the position after it.
    private static func writeHeader(
        _ marker: UInt8, _ value: Int, at cursor: UnsafeMutablePointer<UInt8>
    ) -> UnsafeMutablePointer<UInt8> {
        cursor[0] = marker
        let digits = decimalDigits(value)
        var remaining = value
        for index in stride(from: digits, to: 0, by: -1) {
            cursor[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
        }
        cursor[digits + 1] = 13
        cursor[digits + 2] = 10
        return cursor + digits + 3
    }

    static func decimalDigits(_ value: Int) -> Int {
        var digits = 1
        var remaining = value
        while remaining >= 10 {
            remaining /= 10
            digits += 1
        }
        return digits
    }
}

extension RESPCommand: CustomStringConvertible {
    /// The command as `redis-cli` would show it, long arguments shortened. Arguments after `AUTH`
    /// are hidden.
    public var description: String {
        if name == "AUTH" { return "AUTH ***" }
        return arguments.map { argument in
            let shown = String(decoding: argument.prefix(64), as: UTF8.self).debugDescription
            return argument.count > 64 ? "\(shown)…" : shown
        }.joined(separator: " ")
    }
}
