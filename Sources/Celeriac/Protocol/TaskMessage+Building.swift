import Foundation

extension TaskMessage {
    /// Builds the message Celery's `send_task` would publish for the same call: every header and
    /// property, in Celery's order (`argsrepr` in list syntax, as `send_task` writes it).
    ///
    /// - Parameters:
    ///   - origin: the sender's node name, `gen<pid>@<host>` for producers.
    ///   - replyTo: the producer's reply "oid" (unused by the Redis backend; Celery always sets it).
    ///   - deliveryTag: a fresh UUID per publish by default.
    ///   - now: the sending time, from which `countdown` and relative `expires` count.
    public init(
        task: String, args: [JSONValue] = [], kwargs: JSONObject = [:], options: TaskOptions = TaskOptions(),
        origin: String, replyTo: String, deliveryTag: String = CeleryID.random(), now: Date = Date()
    ) {
        let id = options.taskID ?? CeleryID.random()
        let eta = options.eta ?? options.countdown.map { now.addingTimeInterval($0.timeInterval) }
        var expiresAt: Date?
        var expirationMilliseconds: Int?
        switch options.expires {
        case .after(let span)?:
            expiresAt = now.addingTimeInterval(span.timeInterval)
            expirationMilliseconds = Int((span.timeInterval * 1000).rounded())
        case .at(let date)?:
            expiresAt = date
            expirationMilliseconds = max(0, Int((date.timeIntervalSince(now) * 1000).rounded()))
        case nil:
            break
        }
        func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func seconds(_ value: Double?) -> JSONValue {
            guard let value else { return .null }
            return value.rounded() == value && abs(value) < 1e15 ? .integer(Int(value)) : .double(value)
        }

        var headers: JSONObject = [
            "lang": "py",
            "task": .string(task),
            "id": .string(id),
            "shadow": optional(options.shadow),
            "eta": optional(eta.map(CeleryTimestamp.format)),
            "expires": optional(expiresAt.map(CeleryTimestamp.format)),
            "group": optional(options.groupID),
            "group_index": options.groupIndex.map(JSONValue.integer) ?? .null,
            "retries": .integer(options.retries),
            "timelimit": [seconds(options.timeLimit), seconds(options.softTimeLimit)],
            "root_id": .string(options.rootID ?? id),
            "parent_id": optional(options.parentID),
            "argsrepr": .string(Self.truncatedRepr(.array(args))),
            "kwargsrepr": .string(Self.truncatedRepr(.object(kwargs))),
            "origin": .string(origin),
            "ignore_result": options.ignoreResult.map(JSONValue.bool) ?? .null,
            "replaced_task_nesting": 0,
            "stamped_headers": nil,
            "stamps": [:],
        ]
        for (key, value) in options.headers { headers[key] = value }

        let queue = options.queue ?? TaskOptions.defaultQueue
        var properties: JSONObject = [
            "correlation_id": .string(id),
            "reply_to": .string(replyTo),
            "delivery_mode": 2,
        ]
        if let expirationMilliseconds { properties["expiration"] = .string(String(expirationMilliseconds)) }
        properties["delivery_info"] = ["exchange": "", "routing_key": .string(queue)]
        properties["priority"] = .integer(min(9, max(0, options.priority ?? 0)))
        properties["body_encoding"] = "base64"
        properties["delivery_tag"] = .string(deliveryTag)

        var embed = TaskMessage.emptyEmbed
        if !options.link.isEmpty { embed["callbacks"] = .array(options.link) }
        if !options.linkError.isEmpty { embed["errbacks"] = .array(options.linkError) }
        self.init(headers: headers, properties: properties, args: args, kwargs: kwargs, embed: embed)
    }

    /// Celery cuts `argsrepr`/`kwargsrepr` at 1024 characters.
    private static func truncatedRepr(_ value: JSONValue) -> String {
        let repr = value.pythonRepr
        return repr.count > 1024 ? String(repr.prefix(1021)) + "..." : repr
    }
}

extension Duration {
    /// The duration in seconds.
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
