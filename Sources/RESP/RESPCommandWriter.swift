/// A command that writes its own RESP encoding, straight from its data.
///
/// A pipeline of such commands (``RedisConnection/pipeline(_:)``) is encoded on the connection's
/// thread while it is being sent: no ``RESPCommand`` is built per item, and Redis starts running the
/// first commands of a long pipeline while the later ones are still being encoded.
public protocol RESPCommandEncodable: Sendable {
    /// Writes the command: one ``RESPCommandWriter/beginCommand(argumentCount:)`` and then exactly
    /// that many arguments.
    func write(to writer: inout RESPCommandWriter)
}

/// Writes commands in RESP framing (`*<count>\r\n`, then `$<length>\r\n<bytes>\r\n` per argument)
/// into one byte buffer.
///
/// ```swift
/// writer.beginCommand(argumentCount: 3)
/// writer.writeArgument("LPUSH")
/// writer.writeArgument(queueKey)
/// writer.writeArgument(message)   // a RESPArgument that appends its encoding itself
/// ```
public struct RESPCommandWriter: Sendable {
    /// The RESP bytes written so far.
    public internal(set) var bytes: [UInt8] = []
    /// The number of digits of the length of the last argument whose length was not known ahead.
    private var lengthDigitsGuess = 1
    /// Arguments still owed to the command begun last.
    private var pendingArguments = 0

    /// Creates an empty writer.
    public init() {}

    /// Starts a command of `argumentCount` arguments, the command name included.
    ///
    /// - Precondition: the previous command has all its arguments (a short command would make Redis
    ///   read the next command's bytes as its arguments).
    public mutating func beginCommand(argumentCount: Int) {
        precondition(pendingArguments == 0, "RESP command written with \(pendingArguments) arguments missing")
        precondition(argumentCount > 0, "a RESP command has at least its name")
        pendingArguments = argumentCount
        appendHeader(UInt8(ascii: "*"), argumentCount)
    }

    /// Writes one argument of the current command: its bytes are appended straight to the buffer
    /// (e.g. a message encoding itself), with no copy in between.
    public mutating func writeArgument(_ argument: some RESPArgument) {
        precondition(pendingArguments > 0, "RESP argument written outside a command (beginCommand first)")
        pendingArguments -= 1
        if let count = argument.respByteCount {
            appendHeader(UInt8(ascii: "$"), count)
            argument.appendRESPBytes(to: &bytes)
            bytes.append(13)
            bytes.append(10)
            return
        }
        // The length goes before the bytes but is known only after them: room is left for as many
        // digits as the previous such argument's length had (pipelines repeat similar commands),
        // and the bytes are moved only when the guess was wrong.
        let guessedDigits = lengthDigitsGuess
        bytes.append(UInt8(ascii: "$"))
        let lengthStart = bytes.count
        for _ in 0..<guessedDigits { bytes.append(UInt8(ascii: "0")) }
        bytes.append(13)
        bytes.append(10)
        let argumentStart = bytes.count
        argument.appendRESPBytes(to: &bytes)
        let length = bytes.count - argumentStart
        let digits = RESPCommand.decimalDigits(length)
        if digits != guessedDigits {
            bytes.replaceSubrange(
                lengthStart..<lengthStart + guessedDigits, with: repeatElement(UInt8(ascii: "0"), count: digits))
            lengthDigitsGuess = digits
        }
        fillDigits(of: length, at: lengthStart, count: digits)
        bytes.append(13)
        bytes.append(10)
    }

    /// Writes a whole ``RESPCommand``.
    public mutating func write(_ command: RESPCommand) {
        precondition(pendingArguments == 0, "RESP command written with \(pendingArguments) arguments missing")
        command.encode(into: &bytes)
    }

    /// Empties the buffer (keeping its capacity unless it grew past 1 MiB), e.g. after sending it.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: bytes.capacity <= 1 << 20)
    }

    /// Whether every command written has all its arguments.
    var isComplete: Bool { pendingArguments == 0 }

    /// Appends `<marker><decimal value>\r\n`.
    private mutating func appendHeader(_ marker: UInt8, _ value: Int) {
        bytes.append(marker)
        let start = bytes.count
        let digits = RESPCommand.decimalDigits(value)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        fillDigits(of: value, at: start, count: digits)
        bytes.append(13)
        bytes.append(10)
    }

    /// Writes the `count` decimal digits of `value` over the bytes from `start`.
    private mutating func fillDigits(of value: Int, at start: Int, count: Int) {
        var remaining = value
        for index in stride(from: start + count - 1, through: start, by: -1) {
            bytes[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
            remaining /= 10
        }
    }
}

extension RESPCommand: RESPCommandEncodable {
    /// Writes the command as it is.
    public func write(to writer: inout RESPCommandWriter) {
        writer.write(self)
    }
}
