import Foundation

extension Worker {
    /// How one run of a task ended.
    enum Outcome {
        case success(JSONValue)
        case failure(any Error)
        /// The hard time limit passed; the task's Swift `Task` was cancelled and left behind.
        case timeLimitExceeded(Duration)
    }

    /// Runs one message: rate limit, ack (early), STARTED, the task with its time limits, then
    /// SUCCESS with callbacks, RETRY with the re-published message, or FAILURE with errbacks;
    /// acks-late messages are acked after their state is stored.
    func execute(_ delivery: Delivery) async {
        let message = delivery.message
        let registered = registeredTask(message.taskName)
        // Revoked or expired while it waited in the prefetch window? (Its ETA was waited for
        // already: a hold released a moment early by the timer runs now.)
        switch admit(message, task: registered, now: Date()) {
        case .run, .hold:
            break
        case .revoke(let reason):
            await discardRevoked(delivery, reason: reason)
            return
        case .reject(let name):
            await rejectNotRegistered(delivery, name: name)
            return
        }
        guard let task = registered else { return }  // admitted, so registered
        if let limiter = rateLimiter(for: task) {
            do {
                try await limiter.acquire()
            } catch {
                // Cancelled while waiting for its turn (cold shutdown): back to its queue.
                await restore([delivery])
                return
            }
        }

        let settings = task.settings
        let acksLate = settings.acksLate ?? configuration.acksLate
        let ignoreResult = ignoresResult(message, task)
        let context = TaskContext(message: message, queue: delivery.queue, hostname: configuration.hostname, app: app) {
            [writer] state, meta in
            guard !ignoreResult else { return }
            let sequence = writer.enqueue([.store(self.resultMeta(delivery, state: state, result: meta, done: false))])
            await writer.waitUntilWritten(sequence)
        }
        let started = Date()
        state.withLock {
            $0.active[delivery.deliveryTag] = ActiveTask(delivery: delivery, context: context, started: started, acksLate: acksLate)
        }
        var opening: [CompletionWriter.Item] = []
        if !acksLate && delivery.isRecorded { opening.append(.ack(delivery.deliveryTag)) }
        if settings.trackStarted && !ignoreResult {
            let meta: JSONValue = [
                "pid": .integer(Int(ProcessInfo.processInfo.processIdentifier)), "hostname": .string(configuration.hostname),
            ]
            opening.append(.store(resultMeta(delivery, state: .started, result: meta, done: false)))
        }
        if !opening.isEmpty { writer.enqueue(opening) }
        sendTaskEvent("task-started", ["uuid": .string(message.id)])
        if logger.isEnabled(.debug) { logger.debug("task.started", ["id": message.id, "name": message.taskName]) }

        let clock = ContinuousClock()
        let began = clock.now
        let outcome = await run(task, message: message, context: context, settings: settings)
        let runtime = clock.now - began

        if case .shutdown? = context.stopReason {
            // Cold shutdown: store nothing. An acks-late message stays unacked and comes back.
            logger.warning("task.abandoned", ["id": message.id, "name": message.taskName, "acks_late": "\(acksLate)"])
        } else {
            await finish(
                delivery, task: task, context: context, outcome: outcome, runtime: runtime, acksLate: acksLate,
                ignoreResult: ignoreResult)
        }
        state.withLock { state in
            state.active[delivery.deliveryTag] = nil
            state.processed += 1
            state.totals[message.taskName, default: 0] += 1
        }
    }

    /// Runs the task's handler, with its soft limit (cooperative cancellation) and hard limit
    /// (the run is given up) from the message's `timelimit` header or the task's settings.
    private func run(_ task: RegisteredTask, message: TaskMessage, context: TaskContext, settings: TaskSettings) async -> Outcome {
        let limits = message.timeLimits
        let hard = limits.hard ?? settings.timeLimit
        let soft = limits.soft ?? settings.softTimeLimit
        let handler = task.handler
        let args = message.args
        let kwargs = message.kwargs

        guard hard != nil || soft != nil else {
            do {
                return .success(try await handler(args, kwargs, context))
            } catch {
                return .failure(Self.translate(error, context: context))
            }
        }
        let run = Task(executorPreference: threadPool) { try await handler(args, kwargs, context) }
        let softTimer = soft.map { soft in
            Task {
                try await Task.sleep(for: soft)
                context.requestStop(.softTimeLimit(soft))
                run.cancel()
            }
        }
        defer { softTimer?.cancel() }
        // A cold shutdown cancels this runner: pass it on to the task.
        return await withTaskCancellationHandler {
            guard let hard else {
                do { return .success(try await run.value) } catch { return .failure(Self.translate(error, context: context)) }
            }
            let race = OneShot<Outcome>()
            let timer = Task {
                try await Task.sleep(for: hard)
                run.cancel()
                race.finish(.timeLimitExceeded(hard))
            }
            Task {
                do { race.finish(.success(try await run.value)) } catch { race.finish(.failure(Self.translate(error, context: context))) }
                timer.cancel()
            }
            return await race.value()
        } onCancel: {
            run.cancel()
        }
    }

    /// A cancellation caused by the soft time limit is the task's `SoftTimeLimitExceeded`.
    private static func translate(_ error: any Error, context: TaskContext) -> any Error {
        if error is CancellationError, case .softTimeLimit(let limit)? = context.stopReason {
            return SoftTimeLimitExceeded(limit: limit)
        }
        return error
    }

    /// `0.000808s`: microsecond precision, without Foundation's slow `String(format:)`.
    static func formatSeconds(_ duration: Duration) -> String {
        let microseconds = Int((min(max(duration.timeInterval, 0), OutsideNumber.maximumSeconds) * 1_000_000).rounded())
        let fraction = String(microseconds % 1_000_000)
        return "\(microseconds / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction + "s"
    }

    /// The completion plan of a run that ended with `outcome`.
    private func finish(
        _ delivery: Delivery, task: RegisteredTask, context: TaskContext, outcome: Outcome, runtime: Duration,
        acksLate: Bool, ignoreResult: Bool
    ) async {
        let ending: CompletionPlan.Ending
        switch outcome {
        case .success(let value): ending = .succeeded(value)
        case .failure where context.stopReason == .revoked: ending = .terminated
        case .failure(let error): ending = .failed(error)
        case .timeLimitExceeded(let limit): ending = .timeLimitExceeded(limit)
        }
        let plan = CompletionPlan.plan(
            ending, for: delivery.message, task: task.settings, acksLate: acksLate, ignoreResult: ignoreResult)
        await perform(plan, for: delivery, runtime: runtime)
    }

    /// Carries out a completion plan's effects in order. Stores, the chord part and the ack go to
    /// the writer together (see ``complete(_:stores:lateAck:chordPart:)``), before any effect
    /// after them.
    func perform(_ plan: CompletionPlan, for delivery: Delivery, runtime: Duration?) async {
        let message = delivery.message
        var children: [JSONValue] = []
        var stores: [CompletionWriter.Item] = []
        var chordPart: (state: TaskState, result: JSONValue)?
        var acks = false
        func flush() async {
            guard !stores.isEmpty || chordPart != nil || acks else { return }
            await complete(
                delivery, stores: stores, lateAck: acks ? [.ackAfterStores(delivery.deliveryTag)] : [], chordPart: chordPart)
            (stores, chordPart, acks) = ([], nil, false)
        }
        for effect in plan.effects {
            switch effect {
            case .report(let report):
                self.report(report, of: delivery, runtime: runtime)
            case .publishCallbacks(let result):
                children = await publishCallbacks(of: message, result: result)
            case .publishRetry(let retry):
                guard await publishRetry(of: delivery, retry) else {
                    await perform(retry.otherwise, for: delivery, runtime: runtime)
                    return
                }
            case .store(let stored):
                let listed: [JSONValue] =
                    switch stored.children {
                    case .none: []
                    case .published: children
                    case .retriedTask: [[[.string(message.id), .null], .null]]
                    }
                stores.append(
                    .store(
                        resultMeta(
                            delivery, state: stored.state, result: stored.result, traceback: stored.traceback,
                            children: listed, done: stored.done)))
            case .returnChordPart(let state, let result):
                chordPart = (state, result)
            case .ack:
                acks = true
            case .failChain(let failure):
                await flush()
                await failChain(message.embed["chain"]?.arrayValue ?? [], failure, cause: message)
            case .publishErrbacks:
                await flush()
                await publishErrbacks(message.embed["errbacks"]?.arrayValue ?? [], failedID: message.id, cause: message)
            }
        }
        await flush()
    }

    /// The log line and task event of a plan's report.
    private func report(_ report: CompletionPlan.Report, of delivery: Delivery, runtime: Duration?) {
        let message = delivery.message
        let seconds = runtime.map { logger.isEnabled(.info) ? Self.formatSeconds($0) : "" }
        func fields(_ base: LogFields) -> LogFields {
            var fields = base
            if let seconds { fields.append("runtime", seconds) }
            return fields
        }
        switch report {
        case .succeeded(let value):
            logger.info("task.succeeded", fields(["id": message.id, "name": message.taskName]))
            sendTaskEvent(
                "task-succeeded",
                [
                    "uuid": .string(message.id), "result": .string(value.pythonRepr),
                    "runtime": .double(runtime?.timeInterval ?? 0),
                ])
        case .revoked(let reason, let terminated, let expired):
            logger.info("task.revoked", fields(["id": message.id, "name": message.taskName, "reason": reason]))
            sendTaskEvent(
                "task-revoked",
                [
                    "uuid": .string(message.id), "terminated": .bool(terminated), "signum": terminated ? 15 : nil,
                    "expired": .bool(expired),
                ])
        case .retried(let retry):
            sendTaskEvent(
                "task-retried",
                [
                    "uuid": .string(message.id), "exception": .string(retry.cause.description),
                    "traceback": .string(retry.cause.traceback ?? ""),
                ])
            logger.info(
                "task.retried",
                fields([
                    "id": message.id, "name": message.taskName, "retries": "\(retry.retries)",
                    "countdown": "\(retry.countdown)", "error": retry.cause.description,
                ]))
        case .failed(let failure):
            logger.info(
                "task.failed", fields(["id": message.id, "name": message.taskName, "error": failure.description]))
            sendTaskEvent(
                "task-failed",
                [
                    "uuid": .string(message.id), "exception": .string(failure.description),
                    "traceback": .string(failure.traceback ?? ""),
                ])
        case .abandoned:
            logger.warning(
                "task.abandoned", ["id": message.id, "reason": "hard time limit; its Swift task was cancelled and is left to end"])
        }
    }

    /// Celery's retry (protocol 2.10): publishes the message again with the same id, `retries` + 1
    /// and an ETA. Returns `false` (logged) when it could not be published.
    private func publishRetry(of delivery: Delivery, _ retry: CompletionPlan.Retry) async -> Bool {
        let message = delivery.message
        var next = message
        next.headers["retries"] = .integer(retry.retries)
        next.headers["eta"] = .string(CeleryTimestamp.format(Date().addingTimeInterval(retry.countdown.timeInterval)))
        next.headers["parent_id"] = .string(message.id)
        next.headers["origin"] = .string(app.origin)
        next.properties["delivery_tag"] = .string(CeleryID.random())
        next.properties["origin"] = .string(app.origin)
        do {
            try await app.broker.publish(next)
            return true
        } catch {
            logger.error("task.retry_failed", ["id": message.id, "error": "\(error)", "action": "failing the task"])
            return false
        }
    }

    // MARK: - Results

    /// Whether nothing is stored for this message: its `ignore_result` header, else the task's setting.
    func ignoresResult(_ message: TaskMessage, _ task: RegisteredTask?) -> Bool {
        message.headers["ignore_result"]?.boolValue ?? task?.settings.ignoreResult ?? false
    }

    /// The stored value of a state, with Celery's canvas and (optionally) extended fields.
    func resultMeta(
        _ delivery: Delivery, state: TaskState, result: JSONValue, traceback: String? = nil, children: [JSONValue] = [],
        done: Bool
    ) -> TaskResultMeta {
        let message = delivery.message
        var extended = JSONObject()
        if let group = message.headers["group"], group != .null { extended["group_id"] = group }
        if let parent = message.headers["parent_id"], parent != .null { extended["parent_id"] = parent }
        if configuration.resultExtended {
            extended["name"] = .string(message.taskName)
            extended["args"] = .array(message.args)
            extended["kwargs"] = .object(message.kwargs)
            extended["worker"] = .string(configuration.hostname)
            extended["retries"] = .integer(message.retries)
            extended["queue"] = .string(delivery.queue)
        }
        return TaskResultMeta(
            taskID: message.id, state: state, result: result, traceback: traceback, children: children,
            dateDone: done ? Date() : nil, extended: extended)
    }
}
