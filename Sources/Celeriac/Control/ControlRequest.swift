import Foundation

/// A remote-control request on Celery's pidbox (`celery inspect` / `celery control`): a kombu
/// envelope published on `/<db>.celery.pidbox` whose base64 body is
/// `{"method", "arguments", "destination", "pattern", "matcher", "ticket", "reply_to"}`.
public struct ControlRequest: Sendable, Hashable {
    /// The command, e.g. `ping`, `revoke`.
    public var method: String
    /// Its arguments, e.g. `{"task_id": [ids], "terminate": false}`.
    public var arguments: JSONObject
    /// The node names it is for; `nil` for every worker.
    public var destination: [String]?
    /// A name pattern selecting workers.
    public var pattern: String?
    /// How ``pattern`` matches: `glob` or `pcre`.
    public var matcher: String?
    /// The request's ticket; replies carry it. `nil` for casts (no reply wanted).
    public var ticket: String?
    /// The reply queue's routing key on exchange `reply.celery.pidbox`.
    public var replyRoutingKey: String?

    /// A request.
    public init(
        method: String, arguments: JSONObject = [:], destination: [String]? = nil, ticket: String? = nil,
        replyRoutingKey: String? = nil
    ) {
        self.method = method
        self.arguments = arguments
        self.destination = destination
        self.ticket = ticket
        self.replyRoutingKey = replyRoutingKey
    }

    /// The pidbox channel of a broker database: `/<db>.celery.pidbox`.
    public static func channel(database: Int) -> String { "/\(database).celery.pidbox" }

    /// Decodes a published request envelope.
    /// - Throws: ``CeleryProtocolError`` when it is not a pidbox request.
    public init(decoding envelope: [UInt8]) throws {
        guard case .object(let request) = try KombuEnvelope.decode(envelope, what: "control message").body,
            let method = request["method"]?.stringValue
        else {
            throw CeleryProtocolError(.missingField, "the control message has no 'method'")
        }
        self.method = method
        self.arguments = request["arguments"]?.objectValue ?? [:]
        self.destination = request["destination"]?.arrayValue?.compactMap(\.stringValue)
        self.pattern = request["pattern"]?.stringValue
        self.matcher = request["matcher"]?.stringValue
        self.ticket = request["ticket"]?.stringValue
        self.replyRoutingKey = request["reply_to"]?["routing_key"]?.stringValue
    }

    /// The envelope to publish, as Celery's control client writes it.
    public func encoded(clock: Int = 1, expires: Date? = nil) -> [UInt8] {
        var body: JSONObject = [
            "method": .string(method), "arguments": .object(arguments),
            "destination": destination.map { .array($0.map(JSONValue.string)) } ?? .null,
            "pattern": pattern.map(JSONValue.string) ?? .null, "matcher": matcher.map(JSONValue.string) ?? .null,
        ]
        if let ticket { body["ticket"] = .string(ticket) }
        if let replyRoutingKey {
            body["reply_to"] = ["exchange": "reply.celery.pidbox", "routing_key": .string(replyRoutingKey)]
        }
        return KombuEnvelope.encode(
            body: JSONValue.object(body).serialized(),
            headers: ["clock": .integer(clock), "expires": .double(expires?.timeIntervalSince1970 ?? 0)],
            exchange: "celery.pidbox", routingKey: "", deliveryMode: 2)
    }

    /// Whether a worker named `node` should handle this request (Celery's filter: destination
    /// list, else glob/pcre pattern, else everyone).
    public func isAddressed(to node: String) -> Bool {
        if let destination, !destination.isEmpty { return destination.contains(node) }
        if let pattern, let matcher {
            if matcher == "glob" { return fnmatch(pattern, node, 0) == 0 }
            if matcher == "pcre" { return node.range(of: pattern, options: .regularExpression) != nil }
        }
        return true
    }

    /// The reply envelope Celery's worker sends: body `{node: value}`, `ticket` header.
    public func replyEnvelope(from node: String, value: JSONValue, clock: Int = 1) -> [UInt8]? {
        guard let ticket, let replyRoutingKey else { return nil }
        return KombuEnvelope.encode(
            body: JSONValue.object([node: value]).serialized(), headers: ["ticket": .string(ticket), "clock": .integer(clock)],
            exchange: "reply.celery.pidbox", routingKey: replyRoutingKey, deliveryMode: 1)
    }
}
