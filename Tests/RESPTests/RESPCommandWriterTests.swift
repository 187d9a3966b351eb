import Foundation
import RESP
import Testing

/// `RESPCommandWriter` frames commands exactly as RESP wants them, also for arguments whose length
/// is only known once they are written (the writer guesses the digits and moves the bytes when
/// wrong). The bytes are read back with hiredis' own parser.
@Suite struct RESPCommandWriterTests {
    /// An argument that does not say its length ahead (as a task message encoding itself).
    struct UnsizedArgument: RESPArgument {
        let bytes: [UInt8]
        func appendRESPBytes(to buffer: inout [UInt8]) { buffer.append(contentsOf: bytes) }
    }

    @Test func framesWholeCommandsAndSingleArguments() throws {
        var writer = RESPCommandWriter()
        writer.write(RESPCommand("SET", "k", "value"))
        writer.beginCommand(argumentCount: 2)
        writer.writeArgument("GET")
        writer.writeArgument([UInt8]("k".utf8))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
    }

    @Test func unsizedArgumentsOfEveryDigitCountInAnyOrder() throws {
        // Lengths whose digit counts go up, down and stay, so the guess is right and wrong both ways.
        let lengths = [0, 5, 1_234, 7, 10, 99_999, 100_000, 3, 0, 12_345, 12_346, 9]
        var writer = RESPCommandWriter()
        var expected: [RESPValue] = []
        for (index, length) in lengths.enumerated() {
            let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            writer.beginCommand(argumentCount: 3)
            writer.writeArgument("LPUSH")
            writer.writeArgument(UnsizedArgument(bytes: payload))
            writer.writeArgument(UnsizedArgument(bytes: Array("tail".utf8)))
            expected.append(.array([.bulkString(Array("LPUSH".utf8)), .bulkString(payload), .bulkString(Array("tail".utf8))]))
        }
        #expect(try RESPReader.parse(writer.bytes) == expected)
    }

    @Test func commandsMatchTheirArguments() throws {
        var writer = RESPCommandWriter()
        let command = RESPCommand("HSET", "h", [UInt8]([0, 13, 10]), 42, 1.5, Data([255]))
        writer.write(command)
        #expect(try RESPReader.parse(writer.bytes) == [.array(command.arguments.map(RESPValue.bulkString))])
    }
}
