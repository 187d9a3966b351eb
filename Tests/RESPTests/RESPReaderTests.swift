import Testing
@testable import RESP

/// Parsing raw RESP through hiredis' reader into `RESPValue`, one test per reply kind.
@Suite struct RESPReaderTests {
    private func parse(_ text: String) throws -> [RESPValue] {
        try RESPReader.parse(Array(text.utf8))
    }

    @Test func simpleString() throws {
        #expect(try parse("+OK\r\n") == [.simpleString("OK")])
    }

    @Test func errorReply() throws {
        let values = try parse("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
        #expect(values.count == 1)
        #expect(values[0].serverError?.code == "WRONGTYPE")
        #expect(values[0].serverError?.message.hasSuffix("wrong kind of value") == true)
    }

    @Test func integers() throws {
        #expect(try parse(":0\r\n:-42\r\n:9223372036854775807\r\n") == [.integer(0), .integer(-42), .integer(Int.max)])
    }

    @Test func bulkStrings() throws {
        #expect(try parse("$5\r\nhello\r\n$0\r\n\r\n") == [.bulkString(Array("hello".utf8)), .bulkString([])])
    }

    @Test func binaryBulkString() throws {
        let bytes: [UInt8] = [0, 13, 10, 255, 0]
        let raw = Array("$5\r\n".utf8) + bytes + Array("\r\n".utf8)
        #expect(try RESPReader.parse(raw) == [.bulkString(bytes)])
    }

    @Test func nulls() throws {
        #expect(try parse("$-1\r\n*-1\r\n") == [.null, .null])
    }

    @Test func nestedArrays() throws {
        let values = try parse("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n*0\r\n")
        #expect(values == [.array([.integer(1), .array([.bulkString([97]), .null]), .array([])])])
    }

    @Test func errorInsideArray() throws {
        let values = try parse("*2\r\n+OK\r\n-ERR boom\r\n")
        #expect(values == [.array([.simpleString("OK"), .error(RedisServerError(message: "ERR boom"))])])
    }

    @Test func invalidInputIsAProtocolError() {
        #expect(throws: RedisClientError.self) { try parse("!what\r\n") }
        let error = try? #require(throws: RedisClientError.self) { try parse("$5\r\nhel") }
        #expect(error?.code == .protocolError)
    }
}
