import Foundation
import Testing

@testable import Celeriac

/// The hand-written pieces of the message hot path, checked against Foundation's own.
@Suite struct CodecPrimitiveTests {
    @Test func base64DecodesWhatFoundationDecodes() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Data(bytes).base64EncodedString()
            var written: [UInt8] = []
            Base64.append(bytes, to: &written)
            #expect(String(decoding: written, as: UTF8.self) == text)
            #expect(Base64.decode(text.utf8) == bytes)
        }
        #expect(Base64.decode("ab=c".utf8) == nil)  // Foundation reads 2 bytes; padding belongs at the end
    }

    @Test(arguments: ["a", "ab", "abc", "abcde", "a===", "ab==cd==", "ab c", "ab\ncd", "YQ=", "Y!==", "YWJj\u{e9}"])
    func base64RefusesWhatFoundationRefuses(_ text: String) {
        #expect(Data(base64Encoded: text) == nil)
        #expect(Base64.decode(text.utf8) == nil)
    }

    @Test func idsAreVersion4UUIDsInCelerysForm() throws {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let id = CeleryID.random()
            let uuid = try #require(UUID(uuidString: id))
            #expect(uuid.uuidString.lowercased() == id)
            let bytes = withUnsafeBytes(of: uuid.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4)
            #expect(bytes[8] >> 6 == 0b10)
            seen.insert(id)
        }
        #expect(seen.count == 2_000)
        let hex = CeleryID.randomHex()
        #expect(hex.count == 32 && hex.allSatisfy(\.isHexDigit) && hex == hex.lowercased())
    }

    @Test func objectKeysCompareByBytesLikePythonDictKeys() {
        var object: JSONObject = ["caf\u{e9}": 1]
        object["cafe\u{301}"] = 2  // canonically equivalent in Swift, a different key in Python
        #expect(object.count == 2)
        #expect(object["caf\u{e9}"] == 1)
        #expect(object["cafe\u{301}"] == 2)
        #expect(object["cafe"] == nil)
    }

    /// Objects built on a shared key layout (every fresh message's headers) write and compare like
    /// any other object, before and after their keys change.
    @Test func keyLayoutObjectsBehaveLikeOtherObjects() {
        let layout = JSONKeyLayout(["lang", "task", "caf\u{e9}", "q\"uote"])
        var shared = JSONObject(layout: layout, values: ["py", "t", 1, nil])
        var plain: JSONObject = ["lang": "py", "task": "t", "caf\u{e9}": 1, "q\"uote": nil]
        func same() {
            #expect(shared == plain)
            #expect(shared.hashValue == plain.hashValue)
            #expect(shared.keys == plain.keys)
            #expect(JSONValue.object(shared).serializedString == JSONValue.object(plain).serializedString)
        }
        same()
        #expect(JSONValue.object(shared).serializedString == #"{"lang": "py", "task": "t", "caf\u00e9": 1, "q\"uote": null}"#)
        shared["task"] = "other"  // same keys: still on the layout
        plain["task"] = "other"
        #expect(shared.layout != nil)
        same()
        shared["extra"] = [1, 2]
        plain["extra"] = [1, 2]
        #expect(shared.layout == nil)
        same()
        shared["lang"] = nil
        plain["lang"] = nil
        same()
        #expect(JSONObject(layout: layout, values: ["py", "t", 1, nil]).layout != nil)  // the layout is untouched
        #expect(MemoryLayout<JSONValue>.size <= 24, "JSONValue grew: objects of JSON values take more memory")
    }

    /// A message's queue and priority (read once from its properties) follow changes to them.
    @Test func messageRoutingFollowsItsProperties() throws {
        var message = TaskMessage(task: "t", options: TaskOptions(queue: "jobs", priority: 6), origin: "o", replyTo: "r")
        #expect(message.queue == "jobs" && message.priority == 6)
        message.properties["priority"] = 3
        message.properties["delivery_info"] = ["exchange": "", "routing_key": "other"]
        #expect(message.queue == "other" && message.priority == 3)
        message.properties["delivery_info"] = nil
        #expect(message.queue == TaskOptions.defaultQueue && message.routingKey == nil)
        let decoded = try TaskMessage(decoding: message.encoded())
        #expect(decoded.queue == TaskOptions.defaultQueue && decoded.priority == 3)
    }

    @Test func stringsWithAndWithoutEscapesParse() throws {
        let value = try JSONValue(parsing: #"["plain", "", "a\"b", "tab\tend", "\u00e9t\u00e9", "caf\u00e9 \/ ok", "\u2028"]"#)
        #expect(value == ["plain", "", "a\"b", "tab\tend", "été", "café / ok", "\u{2028}"])
        #expect(throws: CeleryProtocolError.self) { try JSONValue(parsing: #"["unterminated]"#) }
        #expect(throws: CeleryProtocolError.self) { try JSONValue(parsing: #"["bad \q escape"]"#) }
    }
}
