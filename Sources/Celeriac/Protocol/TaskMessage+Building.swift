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
            expirationMilliseconds = OutsideNumber.milliseconds(span)
        case .at(let date)?:
            expiresAt = date
            expirationMilliseconds = OutsideNumber.milliseconds(seconds: date.timeIntervalSince(now))
        case nil:
            break
        }
        func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func seconds(_ limit: Duration?) -> JSONValue {
            guard let value = limit?.timeInterval else { return .null }
            return value.rounded() == value && abs(value) < 1e15 ? .integer(Int(value)) : .double(value)
        }

        var headers = JSONObject(
            layout: Self.headerLayout,
            values: [
                "py",
                .string(task),
                .string(id),
                optional(options.shadow),
                optional(eta.map(CeleryTimestamp.format)),
                optional(expiresAt.map(CeleryTimestamp.format)),
                optional(options.groupID),
                options.groupIndex.map(JSONValue.integer) ?? .null,
                .integer(options.retries),
                [seconds(options.timeLimit), seconds(options.softTimeLimit)],
                .string(options.rootID ?? id),
                optional(options.parentID),
                .string(Self.truncatedRepr(.array(args))),
                .string(Self.truncatedRepr(.object(kwargs))),
                .string(origin),
                options.ignoreResult.map(JSONValue.bool) ?? .null,
                0,
                nil,
                [:],
            ])
        for (key, value) in options.headers { headers[key] = value }

        let deliveryInfo = JSONValue.object(
            JSONObject(layout: Self.deliveryInfoLayout, values: ["", .string(options.queue ?? TaskOptions.defaultQueue)]))
        let priority = JSONValue.integer(min(9, max(0, options.priority ?? 0)))
        let properties: JSONObject
        if let expirationMilliseconds {
            properties = JSONObject(
                layout: Self.expiringPropertiesLayout,
                values: [
                    .string(id), .string(replyTo), 2, .string(String(expirationMilliseconds)), deliveryInfo, priority,
                    "base64", .string(deliveryTag),
                ])
        } else {
            properties = JSONObject(
                layout: Self.propertiesLayout,
                values: [
                    .string(id), .string(replyTo), 2, deliveryInfo, priority, "base64", .string(deliveryTag),
                ])
        }

        var embed = TaskMessage.emptyEmbed
        if !options.link.isEmpty { embed["callbacks"] = .array(options.link) }
        if !options.linkError.isEmpty { embed["errbacks"] = .array(options.linkError) }
        self.init(headers: headers, properties: properties, args: args, kwargs: kwargs, embed: embed)
    }

    // The members of a fresh message, in Celery's order (shared by every message built here).
    private static let headerLayout = JSONKeyLayout([
        "lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries", "timelimit", "root_id",
        "parent_id", "argsrepr", "kwargsrepr", "origin", "ignore_result", "replaced_task_nesting", "stamped_headers",
        "stamps",
    ])
    private static let propertiesLayout = JSONKeyLayout([
        "correlation_id", "reply_to", "delivery_mode", "delivery_info", "priority", "body_encoding", "delivery_tag",
    ])
    private static let expiringPropertiesLayout = JSONKeyLayout([
        "correlation_id", "reply_to", "delivery_mode", "expiration", "delivery_info", "priority", "body_encoding",
        "delivery_tag",
    ])
    private static let deliveryInfoLayout = JSONKeyLayout(["exchange", "routing_key"])

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
