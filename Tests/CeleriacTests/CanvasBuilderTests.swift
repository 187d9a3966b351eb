import Celeriac
import Foundation
import Testing

/// Canvases built by Celeriac against the ones Celery 5.7 sent (`Fixtures/celery/canvas`), field
/// by field. Ids are random on both sides: they are compared as "some id", and the links between
/// them (group ids, chord bodies, frozen chain steps) are checked on their own.
@Suite struct CanvasBuilderTests {
    let add = Signature(task: "celeriac.examples.add")
    let xsum = Signature(task: "celeriac.examples.xsum")
    let fail = Signature(task: "celeriac.examples.fail")

    func plan(_ canvas: Signature, args: [JSONValue] = []) throws -> CanvasPlan {
        try CanvasPlan(applying: canvas, args: args, origin: "gen1@test", replyTo: UUID().uuidString.lowercased())
    }

    // MARK: - Signatures

    @Test func signaturesSerialiseAsCeleryDoes() throws {
        let cases: [(String, Signature)] = [
            ("signature-simple", add.clone(adding: [2, 2])),
            ("signature-immutable", add.clone(adding: [2, 2]).immutable(true)),
            ("signature-partial-with-options", add.clone(adding: [2]).setting(["countdown": 10, "queue": "capture.q1", "priority": 3])),
            ("signature-kwargs", add.clone(adding: [], kwargs: ["x": 1, "y": 2])),
            ("signature-chain", Signature.chain(add.clone(adding: [1, 2]), add.clone(adding: [3]), add.clone(adding: [4]))),
            ("signature-group", Signature.group(add.clone(adding: [1, 1]), add.clone(adding: [2, 2]))),
            ("signature-chord", Signature.chord([add.clone(adding: [1, 1]), add.clone(adding: [2, 2])], body: xsum)),
            (
                "signature-linked",
                add.clone(adding: [1, 1]).onError(fail.clone(adding: ["errback"]).immutable(true)).link(add.clone(adding: [100]))
            ),
        ]
        for (name, built) in cases {
            let captured = try JSONValue(parsing: CeleryFixtures.bytes("canvas", name, "json"))
            #expect(built.jsonValue.serializedString == captured.serializedString, "\(name)")
            #expect(try Signature(captured) == built, "\(name) read back")
        }
    }

    @Test func partialApplicationPutsNewArgumentsFirst() {
        #expect(add.clone(adding: [10]).clone(adding: [4]).args == [4, 10])
        #expect(add.clone(adding: [1, 1]).immutable(true).clone(adding: [9]).args == [1, 1])
        let merged = add.clone(adding: [], kwargs: ["x": 1]).clone(adding: [], kwargs: ["x": 2, "y": 3])
        #expect(merged.kwargs == ["x": 2, "y": 3])
    }

    // MARK: - Messages

    @Test func chainSendsOnlyTheFirstStepWithTheRestReversed() throws {
        let plan = try plan(Signature.chain(add.clone(adding: [1, 2]), add.clone(adding: [3]), add.clone(adding: [4])))
        try #require(plan.messages.count == 1)
        try expectSameMessage(plan.messages[0], as: "chain-first-message")
        let chain = try #require(plan.messages[0].embed["chain"]?.arrayValue)
        #expect(chain.map { $0["args"] } == [[4], [3]])
        // The result to wait on is the last step's frozen id.
        #expect(plan.result == .task(try #require(chain[0]["options"]?["task_id"]?.stringValue)))
        #expect(plan.messages[0].headers["root_id"] == .string(plan.messages[0].id))
    }

    @Test func groupSendsOneMessagePerMemberWithIdAndIndex() throws {
        let plan = try plan(Signature.group(add.clone(adding: [1, 1]), add.clone(adding: [2, 2]), add.clone(adding: [3, 3])))
        try #require(plan.messages.count == 3)
        for (index, message) in plan.messages.enumerated() {
            try expectSameMessage(message, as: "group-message-\(index)")
            #expect(message.headers["group_index"] == .integer(index))
            #expect(message.headers["root_id"] == .string(message.id))
        }
        let groupID = try #require(plan.messages[0].headers["group"]?.stringValue)
        #expect(Set(plan.messages.map { $0.headers["group"] }).count == 1)
        #expect(plan.result == CanvasPlan.Node.group(id: groupID, members: plan.messages.map { .task($0.id) }))
        #expect(plan.chordSizes.isEmpty)
    }

    @Test func chordSizesItselfAndCarriesTheFrozenBody() throws {
        let plan = try plan(Signature.chord([add.clone(adding: [1, 1]), add.clone(adding: [2, 2]), add.clone(adding: [3, 3])], body: xsum))
        try #require(plan.messages.count == 3)
        let groupID = try #require(plan.messages[0].headers["group"]?.stringValue)
        #expect(plan.chordSizes == [.init(groupID: groupID, size: 3)])
        let body = try #require(plan.messages[0].embed["chord"])
        let bodyID = try #require(body["options"]?["task_id"]?.stringValue)
        for (index, message) in plan.messages.enumerated() {
            try expectSameMessage(message, as: "chord-header-message-\(index)")
            #expect(message.embed["chord"] == body)
        }
        #expect(body["options"]?["group_id"] == .string(groupID))
        #expect(plan.result.id == bodyID)
    }

    @Test func chainWithAGroupInTheMiddleBecomesAChordStep() throws {
        let canvas = Signature.chain(
            add.clone(adding: [1, 1]), Signature.group(add.clone(adding: [10]), add.clone(adding: [20])), xsum)
        let plan = try plan(canvas)
        try #require(plan.messages.count == 1)
        try expectSameMessage(plan.messages[0], as: "chain-with-group-first-message")
        let step = try #require(plan.messages[0].embed["chain"]?.arrayValue?.first)
        let groupID = try #require(step["options"]?["task_id"])
        #expect(step["kwargs"]?["header"]?["options"]?["task_id"] == groupID)
        #expect(plan.result.id == step["kwargs"]?["body"]?["options"]?["task_id"]?.stringValue)
    }

    @Test func chainStartingWithAGroupIsSentAsAChord() throws {
        let plan = try plan(Signature.chain(Signature.group(add.clone(adding: [1, 1]), add.clone(adding: [2, 2])), xsum))
        try #require(plan.messages.count == 2)
        for (index, message) in plan.messages.enumerated() {
            try expectSameMessage(message, as: "chain-starting-with-group-\(index)")
        }
        #expect(plan.chordSizes.count == 1)
    }

    @Test func groupOfChainsPutsTheGroupOnTheLastSteps() throws {
        let plan = try plan(
            Signature.group(Signature.chain(add.clone(adding: [1, 1]), add.clone(adding: [2])), Signature.chain(add.clone(adding: [3, 3]), add.clone(adding: [4]))))
        try #require(plan.messages.count == 2)
        for (index, message) in plan.messages.enumerated() {
            try expectSameMessage(message, as: "group-of-chains-\(index)")
            #expect(message.headers["group"] == .null)
            let lastStep = message.embed["chain"]?.arrayValue?.first
            #expect(lastStep?["options"]?["group_index"] == JSONValue.integer(index))
        }
        guard case .group(_, let members) = plan.result else { Issue.record("not a group: \(plan.result)"); return }
        let lastSteps: [String] = plan.messages.map { message in
            message.embed["chain"]?.arrayValue?.first?["options"]?["task_id"]?.stringValue ?? ""
        }
        #expect(members.map(\.id) == lastSteps)
    }

    @Test func chainErrbackReachesEveryStep() throws {
        let plan = try plan(
            Signature.chain(add.clone(adding: [1, 1]), add.clone(adding: [2])).onError(fail.clone(adding: ["chain errback"]).immutable(true)))
        try #require(plan.messages.count == 1)
        try expectSameMessage(plan.messages[0], as: "chain-link-error")
    }

    @Test func mapStarmapAndChunks() throws {
        try expectSameMessage(try #require(plan(xsum.map([[1, 2], [3, 4]])).messages.first), as: "map")
        try expectSameMessage(try #require(plan(add.starmap([[1, 2], [3, 4]])).messages.first), as: "starmap")
        let chunks = try plan(add.chunks([[1, 2], [3, 4], [5, 6]], size: 2))
        try #require(chunks.messages.count == 2)
        for (index, message) in chunks.messages.enumerated() {
            try expectSameMessage(message, as: "chunks-\(index)")
        }
    }

    @Test func chainArgumentsGoToTheFirstStep() throws {
        let plan = try plan(Signature.chain(add.clone(adding: [1]), add.clone(adding: [2])), args: [5])
        #expect(plan.messages.first?.args == [5, 1])
    }

    @Test func chordInAChainCarriesTheRestOnItsBody() throws {
        let plan = try plan(Signature.chain(Signature.chord([add.clone(adding: [1, 1]), add.clone(adding: [2, 2])], body: xsum), add.clone(adding: [10])))
        try #require(plan.messages.count == 2)
        let body = try #require(plan.messages[0].embed["chord"])
        let rest = try #require(body["options"]?["chain"]?.arrayValue)
        #expect(rest.map { $0["args"] } == [[10]])
        #expect(plan.result.id == rest[0]["options"]?["task_id"]?.stringValue)
    }

    @Test func chordWithAChainBodyRunsItsStepsAfterTheFirst() throws {
        let plan = try plan(Signature.chord([add.clone(adding: [1, 1])], body: Signature.chain(xsum, add.clone(adding: [1]))))
        let body = try #require(plan.messages.first?.embed["chord"])
        #expect(body["task"] == "celeriac.examples.xsum")
        let rest = try #require(body["options"]?["chain"]?.arrayValue)
        #expect(plan.result.id == rest.first?["options"]?["task_id"]?.stringValue)
    }

    @Test func emptyChordHeaderRunsTheBodyAtOnce() throws {
        let plan = try plan(Signature.chord([], body: xsum))
        #expect(plan.chordSizes.isEmpty)
        #expect(plan.messages.map(\.args) == [[[]]])
        #expect(plan.result.id == plan.messages.first?.id)
    }

    @Test func refusedCanvasesSayWhy() {
        #expect(throws: CeleriacError.self) { try plan(Signature.chain([])) }
        #expect(throws: CeleriacError.self) { try plan(Signature.chord([Signature.group(add, add)], body: xsum)) }
        #expect(throws: CeleriacError.self) { try plan(Signature.chord([add], body: Signature.group(xsum, xsum))) }
    }

    // MARK: - Comparing with the captured messages

    /// Equal to the captured message in every header, property and body field, with ids compared
    /// as "some UUID" and the fields that differ by nature left out: `argsrepr`/`kwargsrepr`
    /// (Python writes tuples), `origin`, `ignore_result` (Celeriac leaves it to the worker).
    func expectSameMessage(_ message: TaskMessage, as fixture: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let captured = try TaskMessage(decoding: CeleryFixtures.bytes("canvas", fixture))
        let expected = normalised(captured)
        try #require(expected["body"] != nil, "\(fixture) did not normalise", sourceLocation: sourceLocation)
        #expect(normalised(message) == expected, "\(fixture)", sourceLocation: sourceLocation)
    }

    private func normalised(_ message: TaskMessage) -> JSONValue {
        var headers = message.headers
        for key in ["argsrepr", "kwargsrepr", "origin", "ignore_result"] { headers[key] = nil }
        var properties = message.properties
        properties["delivery_tag"] = nil
        let value: JSONValue = [
            "headers": .object(headers), "properties": .object(properties),
            "body": [.array(message.args), .object(message.kwargs), .object(message.embed)],
        ]
        let text = value.serializedString.replacingOccurrences(
            of: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", with: "<id>", options: .regularExpression)
        return (try? JSONValue(parsing: text)) ?? .null
    }
}

/// Typed tasks in canvases: the same signatures as the JSON-level ones.
@Suite struct TypedSignatureTests {
    @Test func typedSignaturesMatchTheUntypedOnes() throws {
        #expect(try Signature(Add.self, .init(x: 1, y: 2)) == Signature(task: "celeriac.examples.add", kwargs: ["x": 1, "y": 2]))
        #expect(Signature(Add.self, args: [10]) == Signature(task: "celeriac.examples.add", args: [10]))
        let plan = try CanvasPlan(
            applying: Signature.chain(try Signature(Add.self, .init(x: 1, y: 2)), Signature(Add.self, args: [10])),
            origin: "gen1@test", replyTo: "r")
        #expect(plan.messages.first?.kwargs == ["x": 1, "y": 2])
        #expect(plan.messages.first?.embed["chain"]?.arrayValue?.first?["args"] == [10])
    }
}
