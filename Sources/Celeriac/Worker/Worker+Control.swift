import Foundation
import RESP

extension Worker {
    /// Listens on the pidbox (`/<db>.celery.pidbox`) and answers the commands this worker knows:
    /// `ping`, `revoke`, `terminate`, `shutdown`, `add_consumer`, `cancel_consumer` and the inspect
    /// commands of `Worker+Inspect`; `enable_events`, `disable_events`, `heartbeat`, `pool_grow`,
    /// `pool_shrink`; `autoscale` gets an error saying why it is not supported.
    /// Others get Celery's `KeyError` reply. Returns when the subscriber is closed.
    func controlLoop(_ subscriber: RedisSubscriber) async {
        for await event in subscriber.events {
            // A backlog of commands must not hold up a shutdown: what is left is dropped.
            guard !isStopping else { break }
            let dropped = subscriber.takeDroppedEvents()
            if dropped > 0 {
                logger.warning("control.dropped", ["count": "\(dropped)", "reason": "more than \(Self.controlBacklog) commands waiting"])
            }
            switch event {
            case .message(let message):
                guard let request = try? ControlRequest(decoding: message.payload) else {
                    logger.warning("control.unreadable", ["channel": message.channel])
                    continue
                }
                guard request.isAddressed(to: configuration.hostname) else { continue }
                await handle(request)
            case .resubscribed:
                // Broadcasts sent while disconnected are lost: the revoked set in Redis has them.
                await loadRevoked()
            }
        }
    }

    /// The largest Lamport clock taken from a peer: 2^53, the largest integer every JSON peer
    /// holds exactly; far from overflowing when the clock ticks on.
    static let maximumClock = 1 << 53

    /// The most revoked ids a worker holds (Celery's `REVOKES_MAX`), in memory and in
    /// `celeriac.revoked`; past it the oldest are forgotten.
    static let maximumRevoked = 50_000

    /// The most control messages waiting to be handled; past it the oldest are dropped (logged).
    static let controlBacklog = 1_000

    /// Celery's mingle: asks the running workers (`hello`, for 1 s) for their revoked ids and
    /// clocks, and keeps what it learns (also in Redis, for later workers). Python workers keep
    /// revokes only in memory, so this is how a new worker learns theirs.
    func mingle() async {
        let known = state.withLock { $0.revoked.sorted }
        do {
            let replies = try await ControlClient(app: app).broadcast(
                "hello", arguments: ["from_node": .string(configuration.hostname), "revoked": .array(known.map(JSONValue.string))],
                timeout: .seconds(1))
            let (learned, clock, ignored) = Self.mingled(replies, ownNode: configuration.hostname)
            for node in ignored { logger.warning("mingle.clock_ignored", ["node": node, "reason": "not a whole number in 0...2^53"]) }
            let new = state.withLock { state -> [String] in
                let new = state.revoked.missing(from: learned)
                state.revoked.insert(new)
                state.clock = max(state.clock, clock)
                return new.sorted()
            }
            if !new.isEmpty { try await RevokedTasks(pool: app.broker.pool).add(new) }
            logger.info("worker.mingled", ["nodes": "\(replies.keys.filter { $0 != configuration.hostname }.count)", "revoked": "\(new.count)"])
        } catch {
            logger.warning("mingle.failed", ["error": "\(error)", "note": "revoked ids from Redis only"])
        }
    }

    /// What mingle learns from the `hello` replies: every other node's revoked ids, the highest
    /// clock, and the nodes whose clock was not a number in `0...maximumClock` (ignored; a peer's
    /// `Int.max` would overflow this worker's clock at its next tick).
    static func mingled(_ replies: JSONObject, ownNode: String) -> (revoked: Set<String>, clock: Int, ignoredClocks: [String]) {
        var learned = Set<String>()
        var clock = 0
        var ignored: [String] = []
        for (node, reply) in replies where node != ownNode {
            switch reply["revoked"] {
            case .array(let ids)?: learned.formUnion(ids.compactMap(\.stringValue))
            case .object(let ids)?: learned.formUnion(ids.keys)
            default: break
            }
            guard let theirs = reply["clock"] else { continue }
            guard let known = theirs.doubleValue.flatMap({ OutsideNumber.integer($0, in: 0...maximumClock) }) else {
                ignored.append(node)
                continue
            }
            clock = max(clock, known)
        }
        return (learned, clock, ignored)
    }

    /// Reads the revoked ids kept in Redis into memory.
    func loadRevoked() async {
        do {
            let ids = try await RevokedTasks(pool: app.broker.pool).current()
            state.withLock { $0.revoked.insert(ids) }
        } catch {
            logger.warning("revoked.load_failed", ["error": "\(error)"])
        }
    }

    /// Whether a task id was revoked.
    func isRevoked(_ id: String) -> Bool {
        state.withLock { $0.revoked.contains(id) }
    }

    private func handle(_ request: ControlRequest) async {
        logger.info("control.received", ["method": request.method])
        let reply: JSONValue
        switch request.method {
        case "ping":
            reply = ["ok": "pong"]
        case "revoke", "terminate":
            reply = await revoke(request)
        case "shutdown":
            logger.warning("worker.shutdown_requested", ["by": "remote control"])
            shutdown()
            return
        case "add_consumer", "cancel_consumer":
            reply = changeConsumer(request)
        case "pool_grow":
            do {
                let count = try request.wholeNumber("n", default: 1, in: 1...max(1, configuration.maximumConcurrency))
                reply = growPool(by: count).map { ["error": .string($0)] } ?? ["ok": "pool will grow"]
            } catch { reply = error.reply }
        case "pool_shrink":
            do {
                let count = try request.wholeNumber("n", default: 1, in: 1...max(1, configuration.maximumConcurrency))
                reply = shrinkPool(by: count) > 0 ? ["ok": "pool will shrink"] : ["error": "the pool cannot shrink below one slot"]
            } catch { reply = error.reply }
        case "autoscale":
            reply = ["error": "autoscale is not supported: use pool_grow/pool_shrink"]
        case "enable_events":
            let changed = events.setTaskEvents(true)
            if changed { logger.info("events.enabled", ["by": "remote control"]) }
            reply = ["ok": .string(changed ? "task events enabled" : "task events already enabled")]
        case "disable_events":
            let changed = events.setTaskEvents(false)
            if changed { logger.info("events.disabled", ["by": "remote control"]) }
            reply = ["ok": .string(changed ? "task events disabled" : "task events already disabled")]
        case "heartbeat":
            // A cast: Celery sends a heartbeat event and no reply.
            sendWorkerEvent("worker-heartbeat", frequency: 5)
            return
        default:
            reply = inspect(request) ?? ["error": .string("KeyError('\(request.method)')")]
        }
        guard let envelope = request.replyEnvelope(from: configuration.hostname, value: reply, clock: tick()),
            let routingKey = request.replyRoutingKey
        else { return }
        do {
            // Route like kombu: to every queue bound to the reply exchange with this routing key.
            let members = try await app.broker.pool.smembers(QueueKeys.bindingKey(exchange: "reply.celery.pidbox"))
            for member in members {
                let parts = String(decoding: member, as: UTF8.self).components(separatedBy: QueueKeys.separator)
                guard parts.count == 3, parts[0] == routingKey else { continue }
                _ = try await app.broker.pool.lpush(parts[2], [envelope])
            }
        } catch {
            logger.warning("control.reply_failed", ["method": request.method, "error": "\(error)"])
        }
    }

    /// Celery's `add_consumer`/`cancel_consumer`: start or stop fetching from a queue (the fetch
    /// loop picks the change up before its next fetch). Replies with Celery's wording.
    private func changeConsumer(_ request: ControlRequest) -> JSONValue {
        guard let queue = request.arguments["queue"]?.stringValue, !queue.isEmpty else {
            return ["error": .string("\(request.method) needs a 'queue' argument")]
        }
        let adding = request.method == "add_consumer"
        state.withLock { state in
            if adding {
                if !state.queues.contains(queue) { state.queues.append(queue) }
            } else {
                state.queues.removeAll { $0 == queue }
            }
            state.queuesGeneration += 1
        }
        logger.info(adding ? "consumer.added" : "consumer.cancelled", ["queue": queue, "queues": consumedQueues.joined(separator: ",")])
        return ["ok": .string(adding ? "add consumer \(queue)" : "no longer consuming from \(queue)")]
    }

    /// Celery's revoke: remember the ids (memory and Redis), store REVOKED for those not running
    /// here, and with `terminate` ask running ones to stop.
    private func revoke(_ request: ControlRequest) async -> JSONValue {
        let ids: [String]
        switch request.arguments["task_id"] {
        case .string(let id)?: ids = [id]
        case .array(let list)?: ids = list.compactMap(\.stringValue)
        default: ids = []
        }
        let terminate = request.method == "terminate" || request.arguments["terminate"]?.boolValue == true
        let running = state.withLock { state -> [String: TaskContext] in
            state.revoked.insert(ids)
            var running: [String: TaskContext] = [:]
            for task in state.active.values where ids.contains(task.delivery.message.id) {
                running[task.delivery.message.id] = task.context
            }
            return running
        }
        do {
            try await RevokedTasks(pool: app.broker.pool).add(ids)
        } catch {
            logger.warning("revoked.save_failed", ["error": "\(error)"])
        }
        let notRunning = ids.filter { running[$0] == nil }
        // One MGET for them all; one read each only when some stored value is unreadable.
        var states: [TaskState?]
        if let metas = try? await app.backend.metas(for: notRunning), metas.count == notRunning.count {
            states = metas.map { $0?.state }
        } else {
            states = []
            for id in notRunning { states.append((try? await app.backend.meta(for: id))??.state) }
        }
        for (id, current) in zip(notRunning, states) {
            // Like Celery: only a task that has not started or finished is marked at once.
            if current == nil || [.pending, .received, .retry].contains(current) {
                let failure = TaskFailure(type: "TaskRevokedError", module: "celery.exceptions", message: "revoked")
                var meta = TaskResultMeta(taskID: id, state: .revoked, result: failure.storedValue, dateDone: Date())
                meta.fields["children"] = .null
                writer.enqueue([.store(meta)])
            }
        }
        logger.info("task.revoked", ["ids": ids.joined(separator: ","), "terminate": "\(terminate)"])
        guard terminate else {
            return ["ok": .string("tasks {" + ids.map { "'\($0)'" }.joined(separator: ", ") + "} flagged as revoked")]
        }
        for context in running.values { context.requestStop(.revoked) }
        return ["ok": .string(running.isEmpty ? "terminate: tasks unknown" : "terminate: " + running.keys.sorted().joined(separator: ", "))]
    }
}
