import Foundation

/// A Celery task message (task protocol 2): the kombu envelope pushed onto a queue list.
///
/// `headers` and `properties` are kept as ordered JSON objects, so that a message read from Redis
/// and written back is byte for byte the same, custom and future headers included; typed accessors
/// cover the fields Celeriac uses. The body is `[args, kwargs, embed]`, base64-encoded JSON.
public struct TaskMessage: Sendable, Hashable {
    /// Task headers: `task`, `id`, `eta`, `retries`, ... and any custom ones.
    public var headers: JSONObject
    /// Message properties: `correlation_id`, `delivery_info`, `priority`, `delivery_tag`, ...
    public var properties: JSONObject {
        didSet { routing = Routing(properties) }
    }
    /// Positional arguments.
    public var args: [JSONValue]
    /// Keyword arguments.
    public var kwargs: JSONObject
    /// `callbacks`, `errbacks`, `chain`, `chord` (signatures, or null).
    public var embed: JSONObject
    /// Where the message goes, read from `properties` when they are set: publishing a batch
    /// needs it per message, and reading it from the JSON each time showed in profiles.
    private var routing: Routing

    private struct Routing: Sendable, Hashable {
        let queue: String
        let priority: Int

        init(_ properties: JSONObject) {
            let deliveryInfo = properties["delivery_info"]
            queue = deliveryInfo?["routing_key"]?.stringValue ?? TaskOptions.defaultQueue
            priority = properties["priority"]?.intValue ?? 0
        }
    }

    /// The `embed` of a message with no callbacks, errbacks, chain or chord.
    public static let emptyEmbed = JSONObject(layout: embedLayout, values: [nil, nil, nil, nil])

    // Held here as well as by `emptyEmbed`: inside `JSONObject` the reference carries enum tag
    // bits, which LeakSanitizer does not recognise as a pointer (it reported the layout leaked).
    private static let embedLayout = JSONKeyLayout(["callbacks", "errbacks", "chain", "chord"])

    /// Creates a message from its parts.
    public init(headers: JSONObject, properties: JSONObject, args: [JSONValue], kwargs: JSONObject, embed: JSONObject) {
        self.headers = headers
        self.properties = properties
        self.routing = Routing(properties)
        self.args = args
        self.kwargs = kwargs
        self.embed = embed
    }

    /// Decodes an envelope as found in a queue list.
    /// Protocol 1 messages (everything in the body, as Celery 5 still sends with
    /// `task_protocol=1`) are read into the protocol 2 form.
    /// - Throws: ``CeleryProtocolError``: `invalidJSON` (envelope or body), `invalidBase64`,
    ///   `unsupportedContentType` (anything but JSON, e.g. pickle), `unsupportedProtocol`
    ///   (protocol 1 with local times, `utc: false`), `missingField` (no `id` or `task` header, or a body that is not
    ///   `[args, kwargs, embed]`), `invalidValue` (a number or timestamp out of range, see
    ///   ``checkValues()``).
    public init(decoding envelope: some Collection<UInt8>) throws {
        guard case .object(let object) = try JSONValue(parsing: envelope) else {
            throw CeleryProtocolError(.missingField, "the message is not a JSON object")
        }
        let contentType = object["content-type"]?.stringValue ?? "application/json"
        guard contentType == "application/json" else {
            throw CeleryProtocolError(
                .unsupportedContentType,
                "content type '\(contentType)' is not supported: Celeriac reads JSON messages only "
                    + "(set task_serializer='json' on the Python side)")
        }
        guard case .object(let headers)? = object["headers"] else {
            throw CeleryProtocolError(.missingField, "the message has no 'headers' object")
        }
        let properties = object["properties"]?.objectValue ?? JSONObject()
        guard case .string(let bodyText)? = object["body"] else {
            throw CeleryProtocolError(.missingField, "the message has no 'body' string")
        }
        var bodyBytes = Array(bodyText.utf8)
        if properties["body_encoding"]?.stringValue == "base64" {
            guard let decoded = Base64.decode(bodyBytes) else {
                throw CeleryProtocolError(.invalidBase64, "the message body is not valid base64")
            }
            bodyBytes = decoded
        }
        guard headers["task"]?.stringValue != nil else {
            if case .object(let body) = try JSONValue(parsing: bodyBytes) {
                self = try TaskMessage(protocol1Body: body, properties: properties)
                try checkValues()
                return
            }
            throw CeleryProtocolError(.missingField, "the message has no 'task' header")
        }
        guard headers["id"]?.stringValue != nil else {
            throw CeleryProtocolError(.missingField, "the message has no 'id' header")
        }
        guard case .array(let parts) = try JSONValue(parsing: bodyBytes), parts.count == 3,
            case .array(let args) = parts[0], case .object(let kwargs) = parts[1]
        else {
            throw CeleryProtocolError(.missingField, "the message body is not [args, kwargs, embed]")
        }
        self.init(
            headers: headers, properties: properties, args: args, kwargs: kwargs,
            embed: parts[2].objectValue ?? TaskMessage.emptyEmbed)
        try checkValues()
    }

    /// The JSON body `[args, kwargs, embed]` before base64.
    public var bodyJSON: [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(128)
        writeBody(to: &body)
        return body
    }

    private func writeBody(to output: inout [UInt8]) {
        output.append(UInt8(ascii: "["))
        JSONWriter.write(.array(args), to: &output)
        output.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")])
        JSONWriter.writeObject(kwargs, to: &output)
        output.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")])
        JSONWriter.writeObject(embed, to: &output)
        output.append(UInt8(ascii: "]"))
    }

    /// The envelope as pushed onto a queue list, written as kombu writes it (the same bytes as
    /// serializing the envelope object, written directly: this is the publish hot path).
    public func encoded() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(1024)
        encode(into: &output)
        return output
    }

    /// Appends the envelope (see ``encoded()``) to `output`.
    public func encode(into output: inout [UInt8]) {
        output.append(contentsOf: Self.envelopeStart)
        Base64.append(bodyJSON, to: &output)
        output.append(contentsOf: Self.envelopeMiddle)
        JSONWriter.writeObject(headers, to: &output)
        output.append(contentsOf: Self.envelopeProperties)
        if properties["body_encoding"]?.stringValue == "base64" {
            JSONWriter.writeObject(properties, to: &output)
        } else {
            // Read from a producer that sent the body unencoded: the body written above is base64.
            var marked = properties
            marked["body_encoding"] = "base64"
            JSONWriter.writeObject(marked, to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }

    private static let envelopeStart = Array(#"{"body": ""#.utf8)
    private static let envelopeMiddle = Array(#"", "content-encoding": "utf-8", "content-type": "application/json", "headers": "#.utf8)
    private static let envelopeProperties = Array(#", "properties": "#.utf8)
}

extension TaskMessage {
    /// The task id (`headers.id`); empty only for messages built without one.
    public var id: String { headers["id"]?.stringValue ?? "" }

    /// The task name (`headers.task`).
    public var taskName: String { headers["task"]?.stringValue ?? "" }

    /// `headers.retries`, 0 when absent, held in `0...maximumRetries` (a decoded message has
    /// been checked; one built in code may hold anything).
    public var retries: Int { min(max(headers["retries"]?.intValue ?? 0, 0), Self.maximumRetries) }

    /// `headers.timelimit` as (hard, soft) durations; an entry that is absent, null or out of
    /// range is `nil`.
    public var timeLimits: (hard: Duration?, soft: Duration?) {
        let limits = headers["timelimit"]?.arrayValue ?? []
        func limit(_ index: Int) -> Duration? {
            limits.indices.contains(index) ? limits[index].doubleValue.flatMap(OutsideNumber.duration(seconds:)) : nil
        }
        return (limit(0), limit(1))
    }

    /// `headers.eta` parsed, if set and well-formed.
    public var eta: Date? { headers["eta"]?.stringValue.flatMap { try? CeleryTimestamp.parse($0) } }

    /// `headers.expires` parsed, if set and well-formed.
    public var expires: Date? { headers["expires"]?.stringValue.flatMap { try? CeleryTimestamp.parse($0) } }

    /// `properties.priority`, 0 when absent.
    public var priority: Int { routing.priority }

    /// The queue the message goes to: its routing key (`properties.delivery_info.routing_key`),
    /// or the default queue when it has none.
    public var queue: String { routing.queue }

    /// `properties.delivery_tag`.
    public var deliveryTag: String? { properties["delivery_tag"]?.stringValue }

    /// `properties.delivery_info.routing_key`: the queue for messages published to exchange `""`.
    public var routingKey: String? { properties["delivery_info"]?["routing_key"]?.stringValue }
}
