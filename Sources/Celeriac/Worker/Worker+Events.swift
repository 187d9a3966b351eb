import Foundation

/// The events a worker sends for Flower and `celery events` (protocol section 6): worker-online,
/// a worker-heartbeat every 2 s and worker-offline always; task events while enabled.
extension Worker {
    /// Seconds between heartbeats (`freq`): listeners think a worker gone after twice this.
    static let heartbeatInterval: Double = 2

    /// Sends a worker event with the worker's counters and software info.
    func sendWorkerEvent(_ type: String, frequency: Double = Worker.heartbeatInterval) {
        let (active, processed) = state.withLock { ($0.active.count, $0.processed) }
        let fields: JSONObject = [
            "freq": .double(frequency), "active": .integer(active), "processed": .integer(processed),
            "loadavg": .array(Self.loadAverage().map(JSONValue.double)), "sw_ident": "celeriac",
            "sw_ver": .string(CeleriacVersion.number), "sw_sys": "Linux",
        ]
        events.send(CeleryEvent(type: type, fields: fields, hostname: configuration.hostname, clock: tick()))
    }

    /// Sends a task event when task events are enabled (`fields` is not built otherwise).
    func sendTaskEvent(_ type: String, _ fields: @autoclosure () -> JSONObject) {
        guard events.taskEventsEnabled else { return }
        events.send(CeleryEvent(type: type, fields: fields(), hostname: configuration.hostname, clock: tick()))
    }

    /// `task-received`, with Celery's fields.
    func sendReceivedEvent(_ message: TaskMessage) {
        sendTaskEvent(
            "task-received",
            [
                "uuid": .string(message.id), "name": .string(message.taskName),
                "args": message.headers["argsrepr"] ?? .string(JSONValue.array(message.args).pythonRepr),
                "kwargs": message.headers["kwargsrepr"] ?? .string(JSONValue.object(message.kwargs).pythonRepr),
                "root_id": message.headers["root_id"] ?? .null, "parent_id": message.headers["parent_id"] ?? .null,
                "retries": .integer(message.retries), "eta": message.headers["eta"] ?? .null,
                "expires": message.headers["expires"] ?? .null,
            ])
    }

    /// Sends heartbeats until cancelled.
    func heartbeatLoop() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: .seconds(Self.heartbeatInterval))
            } catch {
                return
            }
            sendWorkerEvent("worker-heartbeat")
        }
    }

    /// `/proc/loadavg`'s three averages (zeros where unavailable).
    static func loadAverage() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [0, 0, 0] }
        let values = text.split(separator: " ").prefix(3).compactMap { Double($0) }
        return values.count == 3 ? values : [0, 0, 0]
    }
}
