import Foundation
import RESP

extension Worker {
    /// The reply to an inspect/control command other than ping and revoke, in the shape a Celery
    /// worker gives (`../shared/celery-protocol.md` 5.4); `nil` for a command this worker does not
    /// know.
    func inspect(_ request: ControlRequest) -> JSONValue? {
        switch request.method {
        case "active":
            return .array(
                state.withLock { state in
                    state.active.values.sorted { $0.started < $1.started }.map {
                        requestInfo($0.delivery, started: $0.started, acknowledged: !$0.acksLate)
                    }
                })
        case "reserved":
            return .array(reserved.snapshot.map { requestInfo($0, started: nil, acknowledged: false) })
        case "scheduled":
            // The messages this worker holds until their near ETA. Those further away wait in
            // Redis (`celeriac.scheduled`), held by no worker.
            return .array(
                delayed.snapshot.map { delivery -> JSONValue in
                    [
                        "eta": delivery.message.headers["eta"] ?? .null, "priority": .integer(delivery.message.priority),
                        "request": requestInfo(delivery, started: nil, acknowledged: false),
                    ]
                })
        case "registered":
            return .array(registry.names.map(JSONValue.string))
        case "revoked":
            return .array(state.withLock { $0.revoked.sorted }.map(JSONValue.string))
        case "query_task":
            return queryTask(request.arguments["ids"])
        case "stats":
            return stats()
        case "active_queues":
            return .array(consumedQueues.map(Self.queueDescription))
        case "conf":
            return [
                "broker_url": .string(app.broker.pool.redis.redactedURL),
                "result_backend": .string(app.backend.pool.redis.redactedURL),
                "worker_concurrency": .integer(currentConcurrency),
                "worker_prefetch_count": .integer(state.withLock { $0.prefetch }),
                "task_acks_late": .bool(configuration.acksLate),
                "result_extended": .bool(configuration.resultExtended),
                "broker_transport_options": [
                    "visibility_timeout": .double(configuration.visibilityTimeout.timeInterval),
                    "unacked_mutex_expire": .double(configuration.unackedMutexExpiry.timeInterval),
                ],
                "task_queues": .array(consumedQueues.map(JSONValue.string)),
            ]
        case "clock":
            return ["clock": .integer(tick())]
        case "hello":
            if request.arguments["from_node"]?.stringValue == configuration.hostname { return .null }
            return ["revoked": .array(state.withLock { $0.revoked.sorted }.map(JSONValue.string)), "clock": .integer(tick())]
        case "rate_limit":
            guard let name = request.arguments["task_name"]?.stringValue else { return ["error": "task_name is required"] }
            let text = request.arguments["rate_limit"]?.stringValue ?? request.arguments["rate_limit"].map { $0.serializedString }
            let limit: RateLimit?
            if let text, text != "0", text != "null", !text.isEmpty {
                guard let parsed = try? RateLimit(parsing: text) else { return ["error": .string("invalid rate limit string: '\(text)'")] }
                limit = parsed
            } else {
                limit = nil
            }
            guard registry.updateSettings(of: name, { $0.rateLimit = limit }) else { return ["error": .string("unknown task \(name)")] }
            return ["ok": "new rate limit set successfully"]
        case "time_limit":
            guard let name = request.arguments["task_name"]?.stringValue else { return ["error": "task_name is required"] }
            let soft: Duration?
            let hard: Duration?
            do {
                (soft, hard) = (try request.seconds("soft"), try request.seconds("hard"))
            } catch { return error.reply }
            guard
                registry.updateSettings(
                    of: name,
                    {
                        $0.softTimeLimit = soft
                        $0.timeLimit = hard
                    })
            else {
                return ["error": .string("unknown task \(name)")]
            }
            return ["ok": "time limits set successfully"]
        default:
            return nil
        }
    }

    /// Celery's request info (`inspect active/reserved/scheduled`).
    private func requestInfo(_ delivery: Delivery, started: Date?, acknowledged: Bool) -> JSONValue {
        let message = delivery.message
        return [
            "id": .string(message.id), "name": .string(message.taskName), "args": .array(message.args),
            "kwargs": .object(message.kwargs), "type": .string(message.taskName), "hostname": .string(configuration.hostname),
            "time_start": started.map { .double($0.timeIntervalSince1970) } ?? .null, "acknowledged": .bool(acknowledged),
            "delivery_info": [
                "exchange": .string(message.properties["delivery_info"]?["exchange"]?.stringValue ?? ""),
                "routing_key": .string(delivery.queue), "priority": .integer(message.priority),
                "redelivered": .bool(message.headers["redelivered"]?.boolValue ?? false),
            ],
            "worker_pid": started == nil ? .null : .integer(Int(ProcessInfo.processInfo.processIdentifier)),
        ]
    }

    private func queryTask(_ ids: JSONValue?) -> JSONValue {
        // A list of ids; Celery's CLI sends it nested (`[[id, ...]]`).
        func flatten(_ value: JSONValue?) -> [String] {
            switch value {
            case .string(let id)?: return [id]
            case .array(let items)?: return items.flatMap { flatten($0) }
            default: return []
            }
        }
        let wanted = Set(flatten(ids))
        var found = JSONObject()
        for task in state.withLock({ Array($0.active.values) }) where wanted.contains(task.delivery.message.id) {
            found[task.delivery.message.id] = ["active", requestInfo(task.delivery, started: task.started, acknowledged: !task.acksLate)]
        }
        for delivery in reserved.snapshot where wanted.contains(delivery.message.id) {
            found[delivery.message.id] = ["reserved", requestInfo(delivery, started: nil, acknowledged: false)]
        }
        for delivery in delayed.snapshot where wanted.contains(delivery.message.id) {
            found[delivery.message.id] = ["scheduled", requestInfo(delivery, started: nil, acknowledged: false)]
        }
        return .object(found)
    }

    private func stats() -> JSONValue {
        let (totals, started) = state.withLock { ($0.totals, $0.startedAt) }
        var usage = rusage()
        #if canImport(Glibc)
            getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        var broker: JSONObject = ["hostname": .null, "port": .null]
        if case .tcp(let host, let port) = app.broker.pool.redis.endpoint {
            broker = ["hostname": .string(host), "port": .integer(port)]
        }
        broker["virtual_host"] = .string(String(app.broker.pool.redis.database))
        broker["transport"] = "redis"
        broker["ssl"] = false
        var total = JSONObject()
        for name in totals.keys.sorted() { total[name] = .integer(totals[name] ?? 0) }
        return [
            "total": .object(total),
            "pid": .integer(Int(ProcessInfo.processInfo.processIdentifier)),
            "clock": .string(String(tick())),
            "uptime": .integer(Int(Date().timeIntervalSince(started ?? Date()))),
            "pool": [
                "implementation": "celeriac:WorkerThreadPool", "max-concurrency": .integer(currentConcurrency),
                "processes": [.integer(Int(ProcessInfo.processInfo.processIdentifier))], "max-tasks-per-child": "N/A",
                "put-guarded-by-semaphore": false, "timeouts": [0, 0],
            ],
            "broker": .object(broker),
            "prefetch_count": .integer(state.withLock { $0.prefetch }),
            "rusage": [
                "utime": .double(Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6),
                "stime": .double(Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6),
                "maxrss": .integer(Int(usage.ru_maxrss)),
            ],
        ]
    }

    /// A queue as Celery describes it in `active_queues` (a direct exchange named like the queue).
    private static func queueDescription(_ name: String) -> JSONValue {
        [
            "name": .string(name),
            "exchange": [
                "name": .string(name), "type": "direct", "arguments": nil, "durable": true, "passive": false,
                "auto_delete": false, "delivery_mode": nil, "no_declare": false,
            ],
            "routing_key": .string(name), "queue_arguments": nil, "binding_arguments": nil, "consumer_arguments": nil,
            "durable": true, "exclusive": false, "auto_delete": false, "no_ack": false, "alias": nil, "bindings": [],
            "no_declare": nil, "expires": nil, "message_ttl": nil, "max_length": nil, "max_length_bytes": nil,
            "max_priority": nil,
        ]
    }

    /// Advances and returns the worker's Lamport clock.
    func tick() -> Int {
        state.withLock { state in
            state.clock = state.clock.addingSaturated(1)
            return state.clock
        }
    }
}
