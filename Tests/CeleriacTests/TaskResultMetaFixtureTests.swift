import Celeriac
import Foundation
import Testing

/// Values Celery 5.7 stored under `celery-task-meta-<id>`: Celeriac reads each one, writes it back
/// byte for byte, and builds the same values for the same outcomes.
@Suite struct TaskResultMetaFixtureTests {
    static let storedResults = CeleryFixtures.names(in: "results", withSuffix: "raw")

    @Test func thereAreFixtures() {
        #expect(Self.storedResults.count == 17)
    }

    @Test(arguments: storedResults)
    func decodesAndReencodesByteForByte(name: String) throws {
        let raw = try CeleryFixtures.bytes("results", name)
        let meta = try TaskResultMeta(decoding: raw)
        #expect(!meta.taskID.isEmpty)
        #expect(meta.encoded() == raw)
        if meta.state.isReady { #expect(meta.dateDone != nil) } else { #expect(meta.dateDone == nil) }
    }

    @Test func statesAndValues() throws {
        let success = try TaskResultMeta(decoding: CeleryFixtures.bytes("results", "result-success"))
        #expect(success.state == .success)
        #expect(success.result == 5)
        #expect(success.failure == nil)

        let progress = try TaskResultMeta(decoding: CeleryFixtures.bytes("results", "result-progress"))
        #expect(progress.state == "PROGRESS")
        #expect(!progress.state.isReady)
        #expect(progress.result == ["current": 0, "total": 3])

        let failure = try TaskResultMeta(decoding: CeleryFixtures.bytes("results", "result-failure"))
        let error = try #require(failure.failure)
        #expect(error.type == "ValueError")
        #expect(error.module == "builtins")
        #expect(error.message == "boom")
        #expect(error.description == "ValueError('boom')")
        #expect(error.traceback?.hasSuffix("ValueError: boom\n") == true)

        let custom = try TaskResultMeta(decoding: CeleryFixtures.bytes("results", "result-failure-custom-exception"))
        #expect(custom.failure?.description == "CaptureError('custom failure', 42)")

        let expired = try TaskResultMeta(decoding: CeleryFixtures.bytes("results", "result-revoked-expired"))
        #expect(expired.state == .revoked)
        #expect(expired.failure?.type == "TaskRevokedError")
        #expect(expired.failure?.arguments == ["expired"])
    }

    @Test func buildsTheSameValuesAsCelery() throws {
        for name in ["result-success", "result-failure", "result-progress", "result-revoked-expired", "result-success-extended"] {
            let raw = try CeleryFixtures.bytes("results", name)
            let captured = try TaskResultMeta(decoding: raw)
            var extended = captured.fields
            for key in ["status", "result", "traceback", "children", "date_done", "task_id"] { extended[key] = nil }
            let built = TaskResultMeta(
                taskID: captured.taskID, state: captured.state,
                result: captured.failure?.storedValue ?? captured.result, traceback: captured.traceback,
                children: captured.fields["children"]?.arrayValue ?? [], dateDone: captured.dateDone, extended: extended)
            #expect(built.encoded() == raw, "\(name)")
        }
    }

    @Test func malformedValuesAreTypedErrors() {
        #expect(throws: CeleryProtocolError.self) { try TaskResultMeta(decoding: Array("{".utf8)) }
        #expect(throws: CeleryProtocolError.self) { try TaskResultMeta(decoding: Array("[1]".utf8)) }
        #expect(throws: CeleryProtocolError.self) { try TaskResultMeta(decoding: Array(#"{"result": 1}"#.utf8)) }
    }
}

@Suite struct KombuTaggedValueTests {
    @Test func decodesEveryTypeKombuWrites() throws {
        let meta = try TaskResultMeta(decoding: CeleryFixtures.bytes("results", "result-success-typed-values"))
        let result = meta.result
        #expect(result["when"]?.kombuTaggedValue
            == .datetime(try CeleryTimestamp.parse("2024-01-02T03:04:05.678901+00:00")))
        #expect(result["day"]?.kombuTaggedValue == .date("2024-01-02"))
        #expect(result["amount"]?.kombuTaggedValue == .decimal("12.50"))
        #expect(result["ident"]?.kombuTaggedValue
            == .uuid(try #require(UUID(uuidString: "12345678-1234-5678-1234-567812345678"))))
        #expect(result["blob"]?.kombuTaggedValue == .bytes([0, 1] + Array("binary".utf8)))
        #expect(result["text_bytes"]?.kombuTaggedValue == .bytes(Array("plain".utf8)))
        #expect(result["tuple"] == [1, 2])
        #expect(result["tuple"]?.kombuTaggedValue == nil)
    }

    @Test func otherObjectsAreNotTagged() {
        #expect(KombuTaggedValue(["__type__": "frozenset", "__value__": [1]]) == nil)
        #expect(KombuTaggedValue(["__type__": "date", "__value__": "2024-01-02", "extra": 1]) == nil)
        #expect(KombuTaggedValue(["__type__": "base64", "__value__": "AAE="]) == .bytes([0, 1]))
    }
}
