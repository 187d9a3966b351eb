import Foundation
import Testing
import RESP

@Suite struct RESPCommandTests {
    @Test func argumentsOfEveryKind() {
        var command = RESPCommand("SET", "key", [UInt8]([0, 1]), 42)
        command.append(Data([9]))
        command.append(1.5)
        command.append(Substring("sub"))
        #expect(command.count == 7)
        #expect(command.name == "SET")
        #expect(command.arguments == [
            Array("SET".utf8), Array("key".utf8), [0, 1], Array("42".utf8), [9], Array("1.5".utf8), Array("sub".utf8),
        ])
    }

    @Test func emptyArgumentsArePreserved() {
        let command = RESPCommand("SET", "", "")
        #expect(command.arguments == [Array("SET".utf8), [], []])
    }

    @Test func infinitiesUseRedisSpelling() {
        let command = RESPCommand("ZRANGE", "z", -Double.infinity, Double.infinity)
        #expect(command.arguments.suffix(2) == [Array("-inf".utf8), Array("+inf".utf8)])
    }

    @Test func descriptionHidesAuthArguments() {
        #expect(RESPCommand("AUTH", "user", "secret").description == "AUTH ***")
        #expect(RESPCommand("get", "k").description == "\"get\" \"k\"")
    }

    @Test func scriptIsNamedBySHA1() {
        let script = RedisScript("return 1")
        #expect(script.sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}
