import Foundation

extension Worker {
    /// Takes a fetched message: decodes it (unless `decoded` already holds it), checks its task
    /// name, expiry and ETA. Returns the delivery when it should run now; otherwise it has been
    /// dealt with (dead-lettered, revoked, held until its ETA).
    func receive(_ fetched: RedisConsumer.Fetched, decoded: TaskMessage? = nil) async -> Delivery? {
        if fetched.isTooLarge {
            let reason = fetched.deadLetterReason ?? "the message passes the maximum size"
            logger.error(
                "task.rejected",
                [
                    "id": fetched.taskID ?? "-", "name": fetched.taskName ?? "-", "queue": fetched.queue, "reason": reason,
                    "key": configuration.keys.deadLetter,
                ])
            storeRejection(
                taskID: fetched.taskID, taskName: fetched.taskName,
                failure: TaskFailure(type: "MessageTooLarge", module: "celeriac", message: reason))
            return nil
        }
        guard let tag = fetched.deliveryTag else {
            logger.error(
                "message.dead_lettered",
                ["queue": fetched.queue, "reason": fetched.deadLetterReason ?? "unreadable", "key": configuration.keys.deadLetter])
            return nil
        }
        guard fetched.raw.count <= configuration.maximumMessageSize else {
            await rejectOversized(fetched, tag: tag)
            return nil
        }
        let message: TaskMessage
        do {
            message = try decoded ?? TaskMessage(decoding: fetched.raw)
            // The fetch script may have read the tag of another object than `properties` (see
            // `ConsumerScripts.recordFunction`): then the envelope has no delivery tag of its own.
            guard message.deliveryTag == tag else {
                throw CeleryProtocolError(.missingField, "the message has no properties.delivery_tag")
            }
        } catch {
            let reason = "\(error)"
            let headers = (try? JSONValue(parsing: fetched.raw))?["headers"]
            await reject(
                raw: fetched.raw, deliveryTag: tag, queue: fetched.queue, reason: reason,
                taskID: headers?["id"]?.stringValue, taskName: headers?["task"]?.stringValue,
                failure: TaskFailure(type: "MessageDecodeError", module: "celeriac", message: reason))
            return nil
        }
        let delivery = Delivery(message: message, raw: fetched.raw, deliveryTag: tag, queue: fetched.queue)
        if logger.isEnabled(.info) {
            logger.info("task.received", ["id": message.id, "name": message.taskName, "queue": fetched.queue])
        }
        sendReceivedEvent(message)

        switch admit(message, task: registeredTask(message.taskName), now: Date()) {
        case .run:
            return delivery
        case .hold(let eta):
            await hold(delivery, until: eta)
        case .revoke(let reason):
            await discardRevoked(delivery, reason: reason)
        case .reject(let name):
            await rejectNotRegistered(delivery, name: name)
        }
        return nil
    }

    /// Dead-letters a message whose task is not registered here, with FAILURE `NotRegistered`.
    func rejectNotRegistered(_ delivery: Delivery, name: String) async {
        await reject(
            raw: delivery.raw, deliveryTag: delivery.deliveryTag, queue: delivery.queue, reason: "NotRegistered: \(name)",
            taskID: delivery.message.id, taskName: name,
            failure: TaskFailure(type: "NotRegistered", module: "celery.exceptions", message: name))
    }

    /// What ``handOverUnrecorded(_:)`` did with a message.
    enum HandOver {
        /// A runner has it.
        case handed
        /// It is still the caller's to record; `decoded` is the message if it was decoded on the
        /// way (for ``receive(_:decoded:)``, so that it is not decoded twice).
        case kept(decoded: TaskMessage?)
    }

    /// Hands a message BRPOP popped straight to an idle runner, without recording it in
    /// `unacked`, when the runner would ack it the moment it takes it anyway (see
    /// ``isAckedOnArrival(_:now:)``). Recording, then acking, would put the record script's round
    /// trip before the task starts and a MULTI after it, only to cover the microseconds between the
    /// pop and the start, which kombu's own BRPOP leaves in memory too. Otherwise the caller
    /// records it as usual.
    func handOverUnrecorded(_ popped: (raw: [UInt8], queue: String)) -> HandOver {
        guard !isStopping, reserved.hasIdleRunner, popped.raw.count <= configuration.maximumMessageSize else {
            return .kept(decoded: nil)
        }
        guard let message = try? TaskMessage(decoding: popped.raw) else { return .kept(decoded: nil) }
        guard let tag = message.deliveryTag, isAckedOnArrival(message, now: Date()) else { return .kept(decoded: message) }
        let delivery = Delivery(message: message, raw: popped.raw, deliveryTag: tag, queue: popped.queue, isRecorded: false)
        if logger.isEnabled(.info) {
            logger.info("task.received", ["id": message.id, "name": message.taskName, "queue": popped.queue])
        }
        sendReceivedEvent(message)
        return reserved.handToIdleRunner(delivery) ? .handed : .kept(decoded: message)
    }

    /// Dead-letters a message past the maximum size without decoding its body (its `headers`
    /// alone are read, for the id to store FAILURE under).
    private func rejectOversized(_ fetched: RedisConsumer.Fetched, tag: String) async {
        var layouts: [JSONKeyLayout] = []
        let headers =
            (try? JSONParser.parseRecord(
                fetched.raw, in: fetched.raw.indices, layouts: &layouts, keep: JSONFieldFilter(["headers"])))?["headers"]
        let reason = "the message is \(fetched.raw.count) bytes, more than the maximum of \(configuration.maximumMessageSize)"
        await reject(
            raw: fetched.raw, deliveryTag: tag, queue: fetched.queue, reason: reason, taskID: headers?["id"]?.stringValue,
            taskName: headers?["task"]?.stringValue, failure: TaskFailure(type: "MessageTooLarge", module: "celeriac", message: reason))
    }

    /// Whether a runner taking `message` now would ack it at once: a registered early-ack task
    /// without a rate limit (a limited one may wait for its turn), neither revoked, expired nor
    /// waiting for its ETA.
    func isAckedOnArrival(_ message: TaskMessage, now: Date) -> Bool {
        let task = registeredTask(message.taskName)
        guard admit(message, task: task, now: now) == .run, let task else { return false }
        return task.settings.rateLimit == nil && !(task.settings.acksLate ?? configuration.acksLate)
    }

    /// Dead-letters a message that cannot run (with the reason), stores FAILURE for its id when
    /// known, and logs it. The message stays in Redis either way: in `unacked` if the move fails.
    func reject(
        raw: [UInt8], deliveryTag: String, queue: String, reason: String, taskID: String?, taskName: String?,
        failure: TaskFailure
    ) async {
        let entry = DeadLetterEntry(
            reason: reason, queue: queue, message: raw, worker: configuration.hostname, taskID: taskID, taskName: taskName)
        do {
            try await consumer.deadLetter(deliveryTag: deliveryTag, entry: entry)
        } catch {
            logger.error("dead_letter.failed", ["id": taskID ?? "-", "error": "\(error)", "note": "it stays unacked"])
            return
        }
        logger.error(
            "task.rejected",
            ["id": taskID ?? "-", "name": taskName ?? "-", "queue": queue, "reason": reason, "key": configuration.keys.deadLetter])
        storeRejection(taskID: taskID, taskName: taskName, failure: failure)
    }

    /// Stores FAILURE with `failure` for the id of a message that was dead-lettered, when known.
    private func storeRejection(taskID: String?, taskName: String?, failure: TaskFailure) {
        if let taskID {
            var failed = failure
            failed.traceback = failure.tracebackText(task: taskName ?? "?", id: taskID)
            writer.enqueue([
                .store(
                    TaskResultMeta(
                        taskID: taskID, state: .failure, result: failed.storedValue, traceback: failed.traceback,
                        dateDone: Date()))
            ])
        }
    }

    /// Stores REVOKED and acks, as Celery does for a message past its `expires` or whose id was
    /// revoked. A chord header task counts as a REVOKED part of its chord (which then fails).
    func discardRevoked(_ delivery: Delivery, reason: Admission.RevokeReason) async {
        let task = registeredTask(delivery.message.taskName)
        let plan = CompletionPlan.plan(
            .discarded(reason), for: delivery.message, task: task?.settings, acksLate: true,
            ignoreResult: ignoresResult(delivery.message, task))
        state.withLock { $0.processed += 1 }
        await perform(plan, for: delivery, runtime: nil)
    }

    /// Holds a message until its ETA: in Redis (the scheduled set) when it is further away than
    /// the schedule threshold, so that it survives this worker and is not duplicated by visibility
    /// sweeps; in memory (still unacked) when it is due sooner.
    func hold(_ delivery: Delivery, until eta: Date) async {
        if eta.timeIntervalSinceNow > configuration.scheduleThreshold.timeInterval {
            do {
                let parked = try await consumer.park(
                    raw: delivery.raw, deliveryTag: delivery.deliveryTag, listKey: delivery.listKey, until: eta)
                var fields: LogFields = ["id": delivery.message.id, "eta": CeleryTimestamp.format(eta)]
                if !parked { fields.append("reason", "its unacked entry was restored by a sweep meanwhile: that copy runs") }
                logger.info(parked ? "task.scheduled" : "task.schedule_skipped", fields)
                return
            } catch {
                logger.warning("schedule.failed", ["id": delivery.message.id, "error": "\(error)", "action": "holding in memory"])
            }
        }
        // Shutting down already: the closed prefetch window keeps it for the restore.
        if !delayed.hold(delivery, until: eta) { reserved.put([delivery]) }
    }
}
