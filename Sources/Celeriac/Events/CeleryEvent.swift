import Foundation

/// One Celery event (protocol section 6), as Flower and `celery events` read it: a JSON object
/// with `hostname`, `utcoffset`, `pid`, `clock`, the event's own fields, `timestamp` and `type`,
/// published on `/<db>.celeryev/<type with '-' as '.'>` in kombu's envelope.
public struct CeleryEvent: Sendable, Hashable {
    /// `worker-online`, `task-succeeded`, ...
    public var type: String
    /// The event's own fields (`uuid`, `result`, `runtime`, ...), in Celery's order.
    public var fields: JSONObject
    /// The sender's node name.
    public var hostname: String
    /// The sender's Lamport clock.
    public var clock: Int
    /// When it happened, in seconds since 1970 (Celery's float, kept exactly as read).
    public var timestamp: Double
    /// The sender's process id.
    public var pid: Int
    /// The sender's offset from UTC in hours (Celery sends `-time.timezone / 3600`, e.g. 0.0).
    public var utcOffset: Double

    /// An event sent now by this process.
    public init(
        type: String, fields: JSONObject = [:], hostname: String, clock: Int, timestamp: Double = Date().timeIntervalSince1970
    ) {
        self.type = type
        self.fields = fields
        self.hostname = hostname
        self.clock = clock
        self.timestamp = timestamp
        self.pid = Int(ProcessInfo.processInfo.processIdentifier)
        // Celery sends `time.timezone // 3600`: hours west of UTC.
        self.utcOffset = -Double(TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: timestamp))) / 3600
    }

    /// Reads a published envelope (a single event; Python's batched `task.multi` bodies are
    /// arrays: see ``decodeAll(_:)``).
    /// - Throws: ``CeleryProtocolError`` when it is not an event envelope.
    public init(decoding envelope: [UInt8]) throws {
        let events = try Self.decodeAll(envelope)
        guard events.count == 1, let event = events.first else {
            throw CeleryProtocolError(.missingField, "the envelope holds \(events.count) events, not one")
        }
        self = event
    }

    /// Reads every event of a published envelope: one object, or an array (`task.multi`).
    /// - Throws: ``CeleryProtocolError`` when it is not an event envelope.
    public static func decodeAll(_ envelope: [UInt8]) throws -> [CeleryEvent] {
        let value = try KombuEnvelope.decode(envelope, what: "event envelope").body
        let objects = value.arrayValue ?? [value]
        return try objects.map { item in
            guard case .object(var fields) = item, let type = fields["type"]?.stringValue,
                let hostname = fields["hostname"]?.stringValue
            else {
                throw CeleryProtocolError(.missingField, "an event needs a 'type' and a 'hostname'")
            }
            var event = CeleryEvent(
                type: type, hostname: hostname, clock: fields["clock"]?.intValue ?? 0,
                timestamp: fields["timestamp"]?.doubleValue ?? 0)
            event.pid = fields["pid"]?.intValue ?? 0
            event.utcOffset = fields["utcoffset"]?.doubleValue ?? 0
            for key in ["hostname", "utcoffset", "pid", "clock", "timestamp", "type"] { fields[key] = nil }
            event.fields = fields
            return event
        }
    }

    /// The routing key: the type with `-` replaced by `.` (`task.succeeded`).
    public var routingKey: String { type.replacingOccurrences(of: "-", with: ".") }

    /// The channel it is published on in broker database `database`: `/<db>.celeryev/<routing key>`.
    public func channel(database: Int) -> String { "/\(database).celeryev/\(routingKey)" }

    /// The event object, keys in Celery's order.
    public var body: JSONObject {
        var body: JSONObject = [
            "hostname": .string(hostname), "utcoffset": .double(utcOffset), "pid": .integer(pid), "clock": .integer(clock),
        ]
        for (key, value) in fields { body[key] = value }
        body["timestamp"] = .double(timestamp)
        body["type"] = .string(type)
        return body
    }

    /// The envelope Celery's event dispatcher publishes.
    public func encoded(deliveryTag: String = CeleryID.random()) -> [UInt8] {
        KombuEnvelope.encode(
            body: JSONValue.object(body).serialized(), headers: ["hostname": .string(hostname)], exchange: "celeryev",
            routingKey: routingKey, deliveryMode: 1, deliveryTag: deliveryTag)
    }
}
