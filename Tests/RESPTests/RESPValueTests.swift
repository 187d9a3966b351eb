import Testing
import RESP

@Suite struct RESPValueTests {
    @Test func accessors() {
        #expect(RESPValue.bulkString(Array("42".utf8)).int == 42)
        #expect(RESPValue.bulkString(Array("héllo".utf8)).string == "héllo")
        #expect(RESPValue.simpleString("OK").bytes == Array("OK".utf8))
        #expect(RESPValue.integer(3).string == nil)
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.error(RedisServerError(message: "ERR x")).serverError?.code == "ERR")
    }

    @Test func typedDecoding() throws {
        #expect(try RESPValue.integer(7).decode(as: Int.self) == 7)
        #expect(try RESPValue.bulkString(Array("1.5".utf8)).decode(as: Double.self) == 1.5)
        #expect(try RESPValue.null.decode(as: String?.self) == nil)
        #expect(try RESPValue.bulkString([1, 2]).decode(as: [UInt8].self) == [1, 2])
        #expect(try RESPValue.array([.bulkString([97]), .bulkString([98])]).decode(as: [String].self) == ["a", "b"])
        #expect(try RESPValue.integer(1).decode(as: Bool.self))
        #expect(try RESPValue.simpleString("OK").decode(as: Bool.self))
    }

    @Test func decodingTheWrongShapeIsATypedError() {
        let error = try? #require(throws: RedisClientError.self) { try RESPValue.array([]).decode(as: Int.self) }
        #expect(error?.code == .unexpectedReply)
        #expect(error?.message.contains("expected an integer") == true)
    }

    @Test func decodingAnErrorReplyThrowsTheServerError() {
        let value = RESPValue.error(RedisServerError(message: "NOSCRIPT No matching script"))
        let error = try? #require(throws: RedisServerError.self) { try value.decode(as: String.self) }
        #expect(error?.code == "NOSCRIPT")
    }

    @Test func serverErrorCodes() {
        #expect(RedisServerError(message: "WRONGTYPE Operation").code == "WRONGTYPE")
        #expect(RedisServerError(message: "NOAUTH Authentication required.").code == "NOAUTH")
        #expect(RedisServerError(message: "unknown thing").code == "ERR")
    }
}
