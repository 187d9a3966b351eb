@testable import Celeriac
import Testing

@Suite struct ExpressionTests {
    let item: JSONObject = [
        "amount": 120.5, "fee": 2, "name": "  Ada ", "category": "a", "score": 81, "nested": ["x": 3], "none": nil,
    ]

    @Test(arguments: [
        ("amount * 2 + fee", JSONValue.double(243)),
        ("fee * 3 - 1", .integer(5)),
        ("7 % 3", .integer(1)),
        ("-fee", .integer(-2)),
        ("(1 + 2) * 3", .integer(9)),
        ("score >= 80 && category == 'a'", .bool(true)),
        ("score > 90 || !(category != \"a\")", .bool(true)),
        ("name + '!'", .string("  Ada !")),
        ("'n=' + fee", .string("n=2")),
        ("upper(trim(name))", .string("ADA")),
        ("len(trim(name))", .integer(3)),
        ("nested.x + 1", .integer(4)),
        ("missing", .null),
        ("missing == null", .bool(true)),
        ("coalesce(missing, none, 5)", .integer(5)),
        ("round(amount)", .double(121)),
        ("number('4.5') * 2", .double(9)),
        ("1 == 1.0", .bool(true)),
    ])
    func evaluates(source: String, expected: JSONValue) throws {
        #expect(try Expression(source).evaluate(on: item) == expected)
    }

    @Test(arguments: ["missing * 2", "name * 2", "1 / 0", "5 % 0", "name < 3", "nope(1)", "lower(1, 2)"])
    func refusesBadOperations(source: String) throws {
        let expression = try Expression(source)
        #expect(throws: ExpressionError.self) { try expression.evaluate(on: item) }
    }

    @Test(arguments: ["1 +", "(1", "a = 1", "'open", "1 2", "a.", "f(1,", "x; y", ""])
    func refusesBadSyntax(source: String) {
        #expect(throws: ExpressionError.self) { try Expression(source) }
    }

    @Test func limitsLengthAndNesting() {
        #expect(throws: ExpressionError.self) { try Expression(String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100)) }
        #expect(throws: ExpressionError.self) { try Expression(String(repeating: "!", count: 100) + "true") }
        #expect(throws: ExpressionError.self) { try Expression(String(repeating: "1+", count: 3000) + "1") }
        #expect(throws: Never.self) { try Expression(String(repeating: "1 + ", count: 500) + "1") }
    }

    @Test func integerOverflowFallsBackToDoubles() throws {
        let result = try Expression("9223372036854775807 + 1").evaluate(on: [:])
        #expect(result == .double(9_223_372_036_854_775_808))
    }
}
