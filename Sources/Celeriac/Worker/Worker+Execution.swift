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

    /// Stores the outcome, publishes callbacks/errbacks or the retry, acks, logs.
    private func finish(
        _ delivery: Delivery, task: RegisteredTask, context: TaskContext, outcome: Outcome, runtime: Duration,
        acksLate: Bool, ignoreResult: Bool
    ) async {
        let message = delivery.message
        let lateAck: [CompletionWriter.Item] = acksLate ? [.ackAfterStores(delivery.deliveryTag)] : []
        let seconds = logger.isEnabled(.info) ? Self.formatSeconds(runtime) : ""

        switch outcome {
        case .success(let value):
            let children = await publishCallbacks(of: message, result: value)
            let meta = resultMeta(delivery, state: .success, result: value, children: children, done: true)
            logger.info("task.succeeded", ["id": message.id, "name": message.taskName, "runtime": seconds])
            sendTaskEvent(
                "task-succeeded",
                ["uuid": .string(message.id), "result": .string(value.pythonRepr), "runtime": .double(runtime.timeInterval)])
            await complete(delivery, stores: ignoreResult ? [] : [.store(meta)], lateAck: lateAck, state: .success, result: value)

        case .failure where context.stopReason == .revoked:
            // Revoked with terminate, and it stopped: REVOKED `terminated`, as Celery stores it.
            let failure = TaskFailure(type: "TaskRevokedError", module: "celery.exceptions", message: "terminated")
            let meta = resultMeta(delivery, state: .revoked, result: failure.storedValue, done: true)
            logger.info("task.revoked", ["id": message.id, "name": message.taskName, "reason": "terminated", "runtime": seconds])
            sendTaskEvent("task-revoked", ["uuid": .string(message.id), "terminated": true, "signum": 15, "expired": false])
            await complete(
                delivery, stores: ignoreResult ? [] : [.store(meta)], lateAck: lateAck, state: .revoked,
                result: failure.storedValue)

        case .failure(let error):
            if let retry = retryRequest(for: error, task: task, retries: message.retries) {
                if await publishRetry(of: delivery, retry, task: task, ignoreResult: ignoreResult, lateAck: lateAck, runtime: seconds) {
                    return
                }
            }
            let failureError = (error as? TaskRetryRequest).map { $0.error ?? Self.maxRetriesExceeded(message, task) } ?? error
            await fail(delivery, TaskFailure(error: failureError), ignoreResult: ignoreResult, lateAck: lateAck, runtime: seconds)

        case .timeLimitExceeded(let limit):
            let failure = TaskFailure(
                type: "TimeLimitExceeded", module: "billiard.exceptions", arguments: [.double(limit.timeInterval)])
            logger.warning("task.abandoned", ["id": message.id, "reason": "hard time limit; its Swift task was cancelled and is left to end"])
            await fail(delivery, failure, ignoreResult: ignoreResult, lateAck: lateAck, runtime: seconds)
        }
    }

    /// Stores FAILURE (then the chord part), fails the rest of the chain, publishes the errbacks.
    private func fail(
        _ delivery: Delivery, _ failure: TaskFailure, ignoreResult: Bool, lateAck: [CompletionWriter.Item], runtime: String
    ) async {
        var failure = failure
        failure.traceback = failure.traceback ?? failure.tracebackText(task: delivery.message.taskName, id: delivery.message.id)
        let meta = resultMeta(delivery, state: .failure, result: failure.storedValue, traceback: failure.traceback, done: true)
        logger.info(
            "task.failed",
            ["id": delivery.message.id, "name": delivery.message.taskName, "runtime": runtime, "error": failure.description])
        sendTaskEvent(
            "task-failed",
            [
                "uuid": .string(delivery.message.id), "exception": .string(failure.description),
                "traceback": .string(failure.traceback ?? ""),
            ])
        await complete(
            delivery, stores: ignoreResult ? [] : [.store(meta)], lateAck: lateAck, state: .failure, result: failure.storedValue)
        await propagateFailure(of: delivery.message, failure)
    }

    /// The retry to make for `error`: an explicit ``TaskRetryRequest``, or an automatic one (with
    /// the policy's backoff countdown) when the task's ``AutoRetryPolicy`` matches.
    private func retryRequest(for error: any Error, task: RegisteredTask, retries: Int) -> TaskRetryRequest? {
        if let explicit = error as? TaskRetryRequest { return explicit }
        guard let policy = task.settings.autoretry, policy.matches(error) else { return nil }
        let countdown = policy.countdown(afterRetries: retries, defaultDelay: task.settings.defaultRetryDelay)
        return TaskRetryRequest(countdown: countdown, maxRetries: nil, error: error)
    }

    /// Celery's retry (protocol 2.10): publishes the message again with the same id, `retries` + 1
    /// and an ETA, then stores RETRY, then acks. Returns `false` (the caller fails the task) when
    /// no retry is left.
    private func publishRetry(
        of delivery: Delivery, _ request: TaskRetryRequest, task: RegisteredTask, ignoreResult: Bool,
        lateAck: [CompletionWriter.Item], runtime: String
    ) async -> Bool {
        let message = delivery.message
        let maxRetries = request.maxRetries ?? task.settings.maxRetries
        if let maxRetries, message.retries + 1 > maxRetries { return false }
        let countdown = request.countdown ?? task.settings.defaultRetryDelay
        var next = message
        next.headers["retries"] = .integer(message.retries + 1)
        next.headers["eta"] = .string(CeleryTimestamp.format(Date().addingTimeInterval(countdown.timeInterval)))
        next.headers["parent_id"] = .string(message.id)
        next.headers["origin"] = .string(app.origin)
        next.properties["delivery_tag"] = .string(CeleryID.random())
        next.properties["origin"] = .string(app.origin)
        do {
            try await app.broker.publish(next)
        } catch {
            logger.error("task.retry_failed", ["id": message.id, "error": "\(error)", "action": "failing the task"])
            return false
        }
        var cause = TaskFailure(error: request.error ?? TaskFailure(type: "Retry", module: "celery.exceptions", message: "Retry in \(countdown)"))
        cause.traceback = cause.tracebackText(task: message.taskName, id: message.id)
        let meta = resultMeta(
            delivery, state: .retry, result: cause.storedValue, traceback: cause.traceback,
            children: [[[.string(message.id), .null], .null]], done: false)
        writer.enqueue((ignoreResult ? [] : [.store(meta)]) + lateAck)
        sendTaskEvent(
            "task-retried",
            ["uuid": .string(message.id), "exception": .string(cause.description), "traceback": .string(cause.traceback ?? "")])
        logger.info(
            "task.retried",
            ["id": message.id, "name": message.taskName, "runtime": runtime, "retries": "\(message.retries + 1)",
             "countdown": "\(countdown)", "error": cause.description])
        return true
    }

    private static func maxRetriesExceeded(_ message: TaskMessage, _ task: RegisteredTask) -> TaskFailure {
        TaskFailure(
            type: "MaxRetriesExceededError", module: "celery.exceptions",
            message: "Can't retry \(message.taskName)[\(message.id)] args:\(JSONValue.array(message.args).pythonRepr) kwargs:\(JSONValue.object(message.kwargs).pythonRepr)")
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
