import Celeriac
import Foundation
import Testing

/// Pidbox requests and replies against the messages Celery 5.7 sent.
@Suite struct ControlRequestTests {
    @Test func decodesCeleryRequests() throws {
        let revoke = try ControlRequest(decoding: CeleryFixtures.bytes("control", "cli-control-revoke-request"))
        #expect(revoke.method == "revoke")
        #expect(revoke.arguments["task_id"] == ["3a2169b2-d719-492f-95e0-bed057efe81d"])
        #expect(revoke.ticket == "a74a5af4-5a80-45e8-88f2-ad559f643ca8")
        #expect(revoke.replyRoutingKey == "61a670d2-7bf6-39dc-a420-469ea0913a63")
        #expect(revoke.isAddressed(to: "anyone@host"))

        let destination = try ControlRequest(decoding: CeleryFixtures.bytes("control", "inspect-ping-destination-request"))
        #expect(destination.destination?.isEmpty == false)
        let target = try #require(destination.destination?.first)
        #expect(destination.isAddressed(to: target))
        #expect(!destination.isAddressed(to: "someone-else@host"))

        let pattern = try ControlRequest(decoding: CeleryFixtures.bytes("control", "inspect-ping-pattern-request"))
        #expect(pattern.pattern == "w1@.*" && pattern.matcher == "pcre")
        #expect(pattern.isAddressed(to: "w1@capture"))
        #expect(!pattern.isAddressed(to: "w2@capture"))
        var glob = pattern
        glob.pattern = "w?@*"
        glob.matcher = "glob"
        #expect(glob.isAddressed(to: "w2@capture") && !glob.isAddressed(to: "worker@capture"))
    }

    @Test func repliesAndRequestsHaveCelerysShape() throws {
        let request = try ControlRequest(decoding: CeleryFixtures.bytes("control", "cli-inspect-ping-request"))
        let reply = try #require(request.replyEnvelope(from: "w1@capture", value: ["ok": "pong"], clock: 7))
        let celeryReply = try JSONValue(parsing: CeleryFixtures.bytes("control", "inspect-ping-reply"))
        let ours = try JSONValue(parsing: reply)
        #expect(ours.objectValue?.keys == celeryReply.objectValue?.keys)
        #expect(ours["headers"]?["ticket"] == .string(request.ticket ?? ""))
        #expect(ours["properties"]?["delivery_info"] == ["exchange": "reply.celery.pidbox", "routing_key": .string(request.replyRoutingKey ?? "")])
        #expect(ours["properties"]?["delivery_mode"] == 1)
        let body = try #require(ours["body"]?.stringValue.flatMap { Data(base64Encoded: $0) })
        #expect(try JSONValue(parsing: Array(body)) == ["w1@capture": ["ok": "pong"]])
        // A cast has no reply.
        #expect(ControlRequest(method: "heartbeat").replyEnvelope(from: "w", value: nil) == nil)

        // What Celeriac publishes decodes as Celery's does.
        let revoke = ControlRequest(method: "revoke", arguments: ["task_id": ["a", "b"], "terminate": true])
        let decoded = try ControlRequest(decoding: revoke.encoded())
        #expect(decoded == revoke)
        let envelope = try JSONValue(parsing: revoke.encoded())
        #expect(envelope["properties"]?["delivery_info"] == ["exchange": "celery.pidbox", "routing_key": ""])
        #expect(envelope.objectValue?.keys == celeryReply.objectValue?.keys)
        #expect(ControlRequest.channel(database: 3) == "/3.celery.pidbox")
    }
}
