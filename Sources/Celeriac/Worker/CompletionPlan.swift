/// What finishing one task does, in order: decided by ``plan(_:for:task:acksLate:ignoreResult:)``
/// from how the run ended, the message and the task's settings, with no Redis; carried out by
/// `Worker.perform(_:for:runtime:)`. Each of Celery's ordering rules is a property of the list:
///
/// - success: the next chain step and `link` callbacks are published **before** SUCCESS is stored
///   (so that the stored `children` list them), then the chord part, then an acks-late ack;
/// - retry: the new message is published, **then** RETRY is stored, **then** the ack (a retry
///   that cannot be published fails the task instead: ``Effect/publishRetry(_:)``'s `otherwise`);
/// - failure: FAILURE is stored, the chord part returned and the message acked, then the rest of
///   the chain fails and the errbacks are published (Celery's `mark_as_failure`: `_fail_chain`,
///   then `_call_task_errbacks`);
/// - `ignore_result`: nothing is stored, but a chord header still returns its part;
/// - an acks-late ack comes after every store; an early-ack task was acked when it started.
struct CompletionPlan: Sendable, Hashable {
    /// How a run ended, as the planner needs it.
    enum Ending: Sendable {
        case succeeded(JSONValue)
        /// Revoked with terminate, and it stopped.
        case terminated
        case failed(any Error)
        case timeLimitExceeded(Duration)
        /// Never run: revoked or expired before it started.
        case discarded(Admission.RevokeReason)
    }

    /// A state to store, its meta built by the runner (which adds the canvas fields and `children`).
    struct StoredState: Sendable, Hashable {
        /// Which `children` the stored meta lists.
        enum Children: Sendable, Hashable {
            case none
            /// Those the ``Effect/publishCallbacks(_:)`` before it published.
            case published
            /// The task itself, as Celery's RETRY meta lists it.
            case retriedTask
        }

        var state: TaskState
        var result: JSONValue
        var traceback: String?
        var children: Children = .none
        /// Whether `date_done` is set (ready states).
        var done: Bool
    }

    /// Celery's retry: the message again with the same id, `retries + 1` and an ETA.
    struct Retry: Sendable, Hashable {
        var countdown: Duration
        var retries: Int
        /// Why: the RETRY state's stored exception.
        var cause: TaskFailure
        /// What to do instead when the retry cannot be published: fail the task.
        var otherwise: CompletionPlan
    }

    /// What the log line and task event say.
    enum Report: Sendable, Hashable {
        case succeeded(JSONValue)
        case revoked(reason: String, terminated: Bool, expired: Bool)
        case retried(Retry)
        case failed(TaskFailure)
        /// The hard time limit passed; the task's Swift `Task` is left to end.
        case abandoned
    }

    enum Effect: Sendable, Hashable {
        case report(Report)
        /// The next chain step and the `link` callbacks, applied with the result.
        case publishCallbacks(JSONValue)
        case publishRetry(Retry)
        case store(StoredState)
        /// The chord part of a header task (batched with the stores, or awaited when acked late).
        case returnChordPart(state: TaskState, result: JSONValue)
        /// The acks-late ack (or a never-started message's), after the stores.
        case ack
        /// FAILURE for every remaining step of the chain.
        case failChain(TaskFailure)
        /// The errbacks, as one group with the failed task's id.
        case publishErrbacks
    }

    var effects: [Effect]

    /// The plan for a run that ended as `ending`.
    /// - Parameters:
    ///   - task: the registered task (its retry settings); `nil` for a message never run.
    ///   - acksLate: whether the message is acked after the stores (else it was acked at start).
    ///   - ignoreResult: the message's `ignore_result` header, else the task's setting.
    static func plan(
        _ ending: Ending, for message: TaskMessage, task: TaskSettings?, acksLate: Bool, ignoreResult: Bool
    ) -> CompletionPlan {
        let isChordHeader = message.embed["chord"].map { $0 != .null } ?? false
        // The stores, the chord part and the ack, in that order, common to every ready state.
        func finishing(_ stored: StoredState, ack: Bool = acksLate) -> [Effect] {
            var effects: [Effect] = ignoreResult ? [] : [.store(stored)]
            if isChordHeader { effects.append(.returnChordPart(state: stored.state, result: stored.result)) }
            if ack { effects.append(.ack) }
            return effects
        }
        func failing(_ failure: TaskFailure) -> [Effect] {
            var failure = failure
            failure.traceback = failure.traceback ?? failure.tracebackText(task: message.taskName, id: message.id)
            let stored = StoredState(state: .failure, result: failure.storedValue, traceback: failure.traceback, done: true)
            return [.report(.failed(failure))] + finishing(stored) + [.failChain(failure), .publishErrbacks]
        }

        switch ending {
        case .succeeded(let value):
            let stored = StoredState(state: .success, result: value, children: .published, done: true)
            return CompletionPlan(effects: [.publishCallbacks(value), .report(.succeeded(value))] + finishing(stored))

        case .terminated:
            let failure = TaskFailure(type: "TaskRevokedError", module: "celery.exceptions", message: "terminated")
            let stored = StoredState(state: .revoked, result: failure.storedValue, done: true)
            return CompletionPlan(
                effects: [.report(.revoked(reason: "terminated", terminated: true, expired: false))] + finishing(stored))

        case .discarded(let reason):
            let failure = TaskFailure(type: "TaskRevokedError", module: "celery.exceptions", message: reason.rawValue)
            let stored = StoredState(state: .revoked, result: failure.storedValue, done: true)
            // Never started, so never acked: always acked here, after the store.
            return CompletionPlan(
                effects: [.report(.revoked(reason: reason.rawValue, terminated: false, expired: reason == .expired))]
                    + finishing(stored, ack: true))

        case .timeLimitExceeded(let limit):
            let failure = TaskFailure(
                type: "TimeLimitExceeded", module: "billiard.exceptions", arguments: [.double(limit.timeInterval)])
            return CompletionPlan(effects: [.report(.abandoned)] + failing(failure))

        case .failed(let error):
            let failed = CompletionPlan(effects: failing(failure(for: error, message: message, task: task)))
            guard let task, let request = retryRequest(for: error, task: task, retries: message.retries) else { return failed }
            let maxRetries = request.maxRetries.resolved(taskLimit: task.maxRetries)
            if let maxRetries, message.retries + 1 > maxRetries { return failed }
            let countdown = request.countdown ?? task.defaultRetryDelay
            var cause = TaskFailure(
                error: request.error ?? TaskFailure(type: "Retry", module: "celery.exceptions", message: "Retry in \(countdown)"))
            cause.traceback = cause.tracebackText(task: message.taskName, id: message.id)
            let retry = Retry(countdown: countdown, retries: message.retries + 1, cause: cause, otherwise: failed)
            var effects: [Effect] = [.publishRetry(retry)]
            if !ignoreResult {
                effects.append(
                    .store(
                        StoredState(
                            state: .retry, result: cause.storedValue, traceback: cause.traceback, children: .retriedTask,
                            done: false)))
            }
            if acksLate { effects.append(.ack) }
            effects.append(.report(.retried(retry)))
            return CompletionPlan(effects: effects)
        }
    }

    /// The retry to make for `error`: an explicit ``TaskRetryRequest``, or an automatic one (with
    /// the policy's backoff countdown) when the task's ``AutoRetryPolicy`` matches.
    static func retryRequest(for error: any Error, task: TaskSettings, retries: Int) -> TaskRetryRequest? {
        if let explicit = error as? TaskRetryRequest { return explicit }
        guard let policy = task.autoretry, policy.matches(error) else { return nil }
        let countdown = policy.countdown(afterRetries: retries, defaultDelay: task.defaultRetryDelay)
        return TaskRetryRequest(countdown: countdown, error: error)
    }

    /// What a failed run stores: the error's Celery form; a retry request with no retries left
    /// stores its cause, or `MaxRetriesExceededError` when it has none.
    private static func failure(for error: any Error, message: TaskMessage, task: TaskSettings?) -> TaskFailure {
        guard let request = error as? TaskRetryRequest else { return TaskFailure(error: error) }
        if let cause = request.error { return TaskFailure(error: cause) }
        return TaskFailure(
            type: "MaxRetriesExceededError", module: "celery.exceptions",
            message:
                "Can't retry \(message.taskName)[\(message.id)] args:\(JSONValue.array(message.args).pythonRepr) kwargs:\(JSONValue.object(message.kwargs).pythonRepr)"
        )
    }
}
