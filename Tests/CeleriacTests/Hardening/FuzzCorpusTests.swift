import Celeriac
import Foundation
import RESP
import RedisTestSupport
import Testing

/// The fuzzing corpus (Fuzz/Corpus, grown by scripts/fuzz.sh) replayed through the fuzz targets
/// in the normal build: every input the fuzzer kept stays harmless, and the round-trip property
/// the target checks holds for each.
@Suite struct FuzzCorpusTests {
    private static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    @Test(arguments: ["message", "resp"])
    func theCorpusReplaysCleanly(target: String) async throws {
        let directory = Self.corpus.appendingPathComponent(target)
        let inputs = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(inputs.count >= 10, "the \(target) corpus is missing: run Fuzz/seeds.py")
        let result = try await CommandRunner.run(
            CommandRunner.productsDirectory.appendingPathComponent("celeriac-fuzz"), [target, directory.path])
        #expect(result.status == 0, "\(result.standardError.suffix(2000))")
        #expect(result.standardOutput.contains("ran \(inputs.count) inputs through \(target)"))
    }

    /// Found by the message target: a body sent without base64 (allowed by kombu's envelope) was
    /// written back base64-encoded without saying so, so a retried or forwarded copy could not be read.
    @Test func aPlainBodyIsMarkedBase64WhenWrittenAgain() throws {
        let envelope = #"""
            {"body": "[[1, 2], {}, {}]", "content-type": "application/json", "headers": {"task": "t", "id": "i"},
             "properties": {"delivery_tag": "d"}}
            """#
        let message = try TaskMessage(decoding: Array(envelope.utf8))
        let again = try TaskMessage(decoding: message.encoded())
        #expect(again.args == [1, 2])
        #expect(again.properties["body_encoding"]?.stringValue == "base64")
    }

    /// Replies past the limits are refused by the reader as by a connection.
    @Test func theReaderAppliesTheReplyLimits() throws {
        let limits = RESPReplyLimits(maximumBulkLength: 4, maximumElements: 2, maximumDepth: 2)
        #expect(try RESPReader.parse(Array("$4\r\nabcd\r\n".utf8), limits: limits) == [.bulkString(Array("abcd".utf8))])
        for hostile in ["$5\r\nabcde\r\n", "*3\r\n:1\r\n:2\r\n:3\r\n", "*1\r\n*1\r\n*1\r\n:1\r\n"] {
            #expect(throws: RedisClientError.self) { try RESPReader.parse(Array(hostile.utf8), limits: limits) }
        }
    }
}
