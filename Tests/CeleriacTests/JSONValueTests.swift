import Celeriac
import Testing

@Suite struct JSONValueTests {
    @Test func parsesEveryKindAndKeepsKeyOrder() throws {
        let value = try JSONValue(parsing: #"{"z": 1, "a": [true, false, null], "m": 2.5, "s": "x\ny", "e": {}}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m", "s", "e"])
        #expect(value["z"] == .integer(1))
        #expect(value["a"] == [true, false, nil])
        #expect(value["m"] == .double(2.5))
        #expect(value["s"] == "x\ny")
        #expect(value["e"] == .object([:]))
    }

    @Test func encodingKeepsJSONValuesAndConvertsOtherValues() throws {
        // A JSONValue is taken as it is: its keys keep their order.
        let ordered: JSONValue = ["z": 1, "a": [true, nil, "x"]]
        #expect(try JSONValue(encoding: ordered).serializedString == #"{"z": 1, "a": [true, null, "x"]}"#)
        #expect(try JSONValue(encoding: "a/b \"q\"") == .string("a/b \"q\""))
        #expect(try JSONValue(encoding: 42) == .integer(42))
        #expect(try JSONValue(encoding: false) == .bool(false))
        #expect(try JSONValue(encoding: 2.5) == .double(2.5))
        // Other Encodable values go through Foundation's encoder: keys sorted.
        struct Point: Encodable { let y: Int, x: Int }
        #expect(try JSONValue(encoding: Point(y: 2, x: 1)).serializedString == #"{"x": 1, "y": 2}"#)
        #expect(try JSONValue(encoding: [Point(y: 0, x: 3)]) == [["x": 3, "y": 0]])
        #expect(throws: CeleriacError.self) { try JSONValue(encoding: Double.nan) }
    }

    @Test func writesLikePythonJsonDumps() throws {
        let value: JSONValue = ["b": [1, 2.5, "h\u{e9}llo \u{2713}", nil, true], "a": ["k": "v"], "emoji": "\u{1F600}"]
        #expect(value.serializedString
            == #"{"b": [1, 2.5, "h\u00e9llo \u2713", null, true], "a": {"k": "v"}, "emoji": "\ud83d\ude00"}"#)
        #expect(JSONValue.string("quote\" back\\ tab\t ctl\u{1}").serializedString
            == #""quote\" back\\ tab\t ctl\u0001""#)
        #expect(JSONValue.double(1e16).serializedString == "1e+16")
        #expect(JSONValue.double(100).serializedString == "100.0")
    }

    @Test func roundTripsEscapesAndSurrogates() throws {
        let text = #"["\u00e9\u2713\ud83d\ude00", "\/"]"#
        let value = try JSONValue(parsing: text)
        #expect(value == ["é✓😀", "/"])
    }

    /// Bytes that are not UTF-8, and lone surrogates, are refused rather than replaced with
    /// U+FFFD: a task must never run on arguments other than those sent.
    @Test func refusesStringsThatAreNotUnicode() throws {
        let cases: [[UInt8]] = [
            Array(#"["a"#.utf8) + [0xFF] + Array(#""]"#.utf8),  // not UTF-8 at all
            Array(#"["a"#.utf8) + [0xC3] + Array(#"", 1]"#.utf8),  // truncated sequence
            Array(#"["\n"#.utf8) + [0xED, 0xA0, 0x80] + Array(#""]"#.utf8),  // encoded surrogate, after an escape
            Array(#"{""#.utf8) + [0xC0, 0xAF] + Array(#"": 1}"#.utf8),  // overlong key
            Array(#"["\ud800x"]"#.utf8),  // lone surrogate escape
        ]
        for bytes in cases {
            let error = #expect(throws: CeleryProtocolError.self) { try JSONValue(parsing: bytes) }
            #expect(error?.code == .invalidJSON)
        }
    }

    @Test func bigIntegersBecomeDoubles() throws {
        #expect(try JSONValue(parsing: "123456789012345678901234567890") == .double(1.2345678901234568e29))
        #expect(try JSONValue(parsing: "-42") == .integer(-42))
        #expect(try JSONValue(parsing: "NaN").doubleValue?.isNaN == true)
        #expect(try JSONValue(parsing: "-Infinity") == .double(-.infinity))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "[1] 2", "\"\\x\"", "01x"])
    func invalidJSONNamesTheOffset(text: String) {
        let error = try? #require(throws: CeleryProtocolError.self) { try JSONValue(parsing: text) }
        #expect(error?.code == .invalidJSON)
        #expect(error?.message.contains("at byte") == true)
    }

    @Test func deepNestingIsRejectedNotACrash() {
        let text = String(repeating: "[", count: 100_000)
        #expect(throws: CeleryProtocolError.self) { try JSONValue(parsing: text) }
    }

    @Test func pythonRepr() {
        let args: JSONValue = [1, "two", [3, 4.5], ["k": "v"], nil, true, "it's", "say \"hi\""]
        #expect(args.pythonRepr == #"[1, 'two', [3, 4.5], {'k': 'v'}, None, True, "it's", 'say "hi"']"#)
        let kwargs: JSONValue = ["flag": true, "nothing": nil, "text": "h\u{e9}llo \u{2713}"]
        #expect(kwargs.pythonRepr == "{'flag': True, 'nothing': None, 'text': 'h\u{e9}llo \u{2713}'}")
    }

    @Test func objectMembersKeepTheirPlace() {
        var object: JSONObject = ["a": 1, "b": 2, "c": 3]
        object["b"] = 20
        object["d"] = 4
        object["a"] = nil
        #expect(object.keys == ["b", "c", "d"])
        #expect(object["b"] == 20)
    }

    @Test func objectEqualityIgnoresOrderLikeAPythonDict() {
        let forward: JSONObject = ["a": 1, "b": [1, 2]]
        let backward: JSONObject = ["b": [1, 2], "a": 1]
        #expect(forward == backward)
        #expect(forward.hashValue == backward.hashValue)
        #expect(forward != ["a": 1, "b": [2, 1]])
        #expect(JSONValue.object(forward).serializedString != JSONValue.object(backward).serializedString)
    }
}
