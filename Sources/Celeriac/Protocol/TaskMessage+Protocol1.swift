extension TaskMessage {
    /// Body fields of protocol 1 that are not headers in protocol 2.
    private static let protocol1BodyFields: Set<String> = ["args", "kwargs", "callbacks", "errbacks", "chord", "utc", "taskset"]

    /// Reads a Celery task protocol 1 body (`{"task", "id", "args", "kwargs", "retries", "eta",
    /// "expires", "utc", "callbacks", "errbacks", "timelimit", "taskset", "chord"}`) into the
    /// protocol 2 form, as Celery's own worker does (`proto1_to_proto2`): the body's other fields
    /// become headers, `taskset` becomes `group`, and the callbacks, errbacks and chord the embed.
    /// - Throws: ``CeleryProtocolError``: `missingField` without `task` or `id`, or with `args` /
    ///   `kwargs` of the wrong type; `unsupportedProtocol` for `utc: false` with an `eta` or
    ///   `expires` (local times of an unknown zone).
    init(protocol1Body body: JSONObject, properties: JSONObject) throws {
        guard body["task"]?.stringValue != nil, body["id"]?.stringValue != nil else {
            throw CeleryProtocolError(.missingField, "the protocol 1 body has no 'task' or no 'id'")
        }
        let args: [JSONValue]
        switch body["args"] {
        case nil, .null?: args = []
        case .array(let list)?: args = list
        default: throw CeleryProtocolError(.missingField, "the protocol 1 body's 'args' is not a list")
        }
        let kwargs: JSONObject
        switch body["kwargs"] {
        case nil, .null?: kwargs = [:]
        case .object(let object)?: kwargs = object
        default: throw CeleryProtocolError(.missingField, "the protocol 1 body's 'kwargs' is not an object")
        }
        if body["utc"] == .bool(false), body["eta"].map({ $0 != .null }) == true || body["expires"].map({ $0 != .null }) == true {
            throw CeleryProtocolError(
                .unsupportedProtocol, "a protocol 1 message with local times (utc: false) is not supported (set enable_utc=True)")
        }
        var headers = JSONObject()
        for (key, value) in body where !Self.protocol1BodyFields.contains(key) { headers[key] = value }
        if let group = body["taskset"], group != .null { headers["group"] = group }
        var embed = TaskMessage.emptyEmbed
        embed["callbacks"] = body["callbacks"] ?? .null
        embed["errbacks"] = body["errbacks"] ?? .null
        embed["chord"] = body["chord"] ?? .null
        self.init(headers: headers, properties: properties, args: args, kwargs: kwargs, embed: embed)
    }
}
