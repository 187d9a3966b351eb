import Foundation
import RESP

/// What a worker does for canvases after a task ends (protocol 4.2-4.6): the next chain step and
/// `link` callbacks on success; FAILURE for the rest of the chain and errbacks on failure; the
/// chord part return for header tasks, and the body (or its `ChordError`) for the one that
/// completes a chord.
extension Worker {
    /// A chord header task's place: its chord's group id, index and frozen body.
    struct ChordMembership {
        let groupID: String
        let groupIndex: Int?
        let body: JSONValue

        init?(_ message: TaskMessage) {
            guard let body = message.embed["chord"], body != .null, let groupID = message.headers["group"]?.stringValue
            else { return nil }
            self.groupID = groupID
            self.groupIndex = message.headers["group_index"]?.intValue
            self.body = body
        }

        init?(signature: Signature) {
            guard let body = signature.options["chord"], body != .null,
                let groupID = signature.options["group_id"]?.stringValue
            else { return nil }
            self.groupID = groupID
            self.groupIndex = signature.options["group_index"]?.intValue
            self.body = body
        }
    }

    /// Whether the task finishing now is the only one running, and none waits for a runner.
    private var isAlone: Bool {
        reserved.count == 0 && state.withLock { $0.active.count <= 1 }
    }

    /// Queues the stores, and for a chord header task its part return: batched by the writer
    /// after the stores (the runner does not wait; the claimer finishes the chord on its own
    /// task). An acks-late header task instead waits for its part, finishes the chord if it
    /// completes it, and only then queues its ack, so a worker lost in between leaves the message
    /// to be redelivered (its part counts once).
    func complete(
        _ delivery: Delivery, stores: [CompletionWriter.Item], lateAck: [CompletionWriter.Item],
        chordPart: (state: TaskState, result: JSONValue)?
    ) async {
        let message = delivery.message
        guard let (state, result) = chordPart, let membership = ChordMembership(message) else {
            // A lone task's result is stored by this thread when the writer is idle (one thread
            // wake-up fewer before a waiting `get()` hears it); under load the writer batches.
            if isAlone { writer.storeHereIfIdle(stores + lateAck) } else { writer.enqueue(stores + lateAck) }
            return
        }
        if lateAck.isEmpty {
            let part = ChordCounter.Part(
                groupID: membership.groupID, taskID: message.id, groupIndex: membership.groupIndex, state: state,
                result: result)
            writer.enqueue(
                stores + [
                    .chordPart(part) { outcome in
                        self.handle(outcome, of: membership, taskID: message.id, message: message)
                    }
                ])
            return
        }
        await writer.waitUntilWritten(writer.enqueue(stores))
        await returnChordPart(membership, taskID: message.id, state: state, result: result, from: message)
        if !lateAck.isEmpty { writer.enqueue(lateAck) }
    }

    // MARK: - Success

    /// Applies the next step of `embed.chain` and the `embed.callbacks` with the result prepended
    /// (protocol 4.2, 4.3), before the result is stored, as Celery does, so that `children` lists
    /// them. A composite next step (group, chord) is applied here too. Returns the children entries.
    func publishCallbacks(of message: TaskMessage, result: JSONValue) async -> [JSONValue] {
        var children: [JSONValue] = []
        let context = CanvasBuilder.Context(parentID: message.id, rootID: rootID(of: message))
        var chain = message.embed["chain"]?.arrayValue ?? []
        if let next = chain.popLast() {
            var stepContext = context
            stepContext.chain = chain
            if let node = await apply(next, args: [result], context: stepContext, cause: message) {
                children.append(Self.childEntry(node))
            }
        }
        let callbacks = message.embed["callbacks"]?.arrayValue ?? []
        if callbacks.count == 1 {
            if let node = await apply(callbacks[0], args: [result], context: context, cause: message) {
                children.append(Self.childEntry(node))
            }
        } else if callbacks.count > 1 {
            // Several callbacks go out as one group, as in Celery.
            let group = Signature(task: "celery.group", kwargs: ["tasks": .array(callbacks)], subtaskType: "group")
            if let node = await apply(group.jsonValue, args: [result], context: context, cause: message) {
                children.append(Self.childEntry(node))
            }
        }
        return children
    }

    /// Celery's `children` entry of a result: `[[id, parent], null]` for a task, `[[gid, null], [...]]`
    /// for a group.
    private static func childEntry(_ node: CanvasPlan.Node) -> JSONValue {
        switch node {
        case .task(let id), .chord(let id, _): return [[.string(id), .null], .null]
        case .group(let id, let members): return [[.string(id), .null], .array(members.map(childEntry))]
        }
    }

    // MARK: - Failure

    /// After a failure is stored: FAILURE for every remaining step of the chain (a chord step's
    /// body included), chord parts for those in a chord header, then the errbacks (Celery's
    /// `mark_as_failure`: `_fail_chain`, then `_call_task_errbacks`).
    func propagateFailure(of message: TaskMessage, _ failure: TaskFailure) async {
        await failChain(message.embed["chain"]?.arrayValue ?? [], failure, cause: message)
        await publishErrbacks(message.embed["errbacks"]?.arrayValue ?? [], failedID: message.id, cause: message)
    }

    /// Stores FAILURE for every step of a chain that will not run now, as Celery's `_fail_chain`.
    func failChain(_ chain: [JSONValue], _ failure: TaskFailure, cause: TaskMessage) async {
        var pending = chain
        var stores: [CompletionWriter.Item] = []
        var parts: [(ChordMembership, String)] = []
        while !pending.isEmpty {
            guard let step = try? Signature(pending.removeFirst()) else { continue }
            if let id = step.id {
                stores.append(
                    .store(
                        TaskResultMeta(
                            taskID: id, state: .failure, result: failure.storedValue, traceback: failure.traceback,
                            dateDone: Date())))
                if let membership = ChordMembership(signature: step) { parts.append((membership, id)) }
            }
            if CanvasBuilder.Kind(step) == .chord, let body = step.kwargs["body"] { pending.append(body) }
        }
        guard !stores.isEmpty else { return }
        await writer.waitUntilWritten(writer.enqueue(stores))
        for (membership, id) in parts {
            await returnChordPart(membership, taskID: id, state: .failure, result: failure.storedValue, from: cause)
        }
    }

    /// Publishes errbacks as Celery does for those it does not run in-process: one group with
    /// the failed task's id as argument.
    func publishErrbacks(_ errbacks: [JSONValue], failedID: String, cause: TaskMessage) async {
        guard !errbacks.isEmpty else { return }
        let group = Signature(task: "celery.group", kwargs: ["tasks": .array(errbacks)], subtaskType: "group")
        let context = CanvasBuilder.Context(parentID: failedID, rootID: rootID(of: cause))
        _ = await apply(group.jsonValue, args: [.string(failedID)], context: context, cause: cause)
    }

    // MARK: - Chords

    /// Returns a header task's part; when it completes the chord and wins the claim, finishes it.
    /// Connection errors are retried (Redis restarting) for up to a minute.
    func returnChordPart(
        _ membership: ChordMembership, taskID: String, state: TaskState, result: JSONValue, from message: TaskMessage
    ) async {
        let chords = app.backend.chords
        let outcome = await retryingRedis("chord part return", groupID: membership.groupID) {
            try await chords.returnPart(
                groupID: membership.groupID, taskID: taskID, groupIndex: membership.groupIndex, state: state,
                result: result)
        }
        guard case .claimed(let token)? = outcome else {
            handle(outcome, of: membership, taskID: taskID, message: message)
            return
        }
        await finishChord(membership, token: token, completedBy: taskID, message: message)
    }

    /// Acts on a part return made by the writer: the claimer finishes the chord on its own task.
    private func handle(_ outcome: ChordCounter.PartReturn?, of membership: ChordMembership, taskID: String, message: TaskMessage) {
        switch outcome {
        case .claimed(let token)?:
            // Registered under the lock it takes to unregister itself, so it cannot end before.
            let id = UUID()
            state.withLock { state in
                state.chordFinishers[id] = Task {
                    await self.finishChord(membership, token: token, completedBy: taskID, message: message)
                    _ = self.state.withLock { $0.chordFinishers.removeValue(forKey: id) }
                }
            }
        case .alreadyDone?:
            logger.info("chord.late_part", ["group": membership.groupID, "id": taskID, "note": "chord already finished"])
        case .recorded?, nil:
            break
        }
    }

    /// The claimer's work: the body with the ordered results, or FAILURE `ChordError` on the body
    /// when a header task failed (errbacks and the body's chain failed too).
    private func finishChord(_ membership: ChordMembership, token: String, completedBy taskID: String, message: TaskMessage) async {
        let chords = app.backend.chords
        let groupID = membership.groupID
        guard let body = try? Signature(membership.body), let bodyID = body.id else {
            logger.error("chord.failed", ["group": groupID, "error": "the chord body is not a frozen signature"])
            return
        }
        // An entry that is not Celery's fails the chord ("Join error", as Celery says) instead of
        // leaving its body waiting for ever.
        let read = await retryingRedis("chord results", groupID: groupID) { () -> Result<[ChordEntry], CeleryProtocolError> in
            do {
                return .success(try await chords.results(groupID: groupID))
            } catch let error as CeleryProtocolError {
                return .failure(error)
            }
        }
        let entries: [ChordEntry]
        switch read {
        case .success(let read)?:
            entries = read
        case .failure(let error)?:
            await failChord(body, bodyID: bodyID, groupID: groupID, reason: "Join error: \(error)", message: message)
            return
        case nil:
            return
        }
        if let failed = entries.first(where: { $0.state == .failure || $0.state == .revoked }) {
            let cause = TaskFailure(storedValue: failed.result).map(\.description) ?? failed.result.pythonRepr
            let reason = "Dependency \(failed.taskID) raised \(cause)"
            await failChord(body, bodyID: bodyID, groupID: groupID, reason: reason, message: message)
            return
        }
        let extended = await retryingRedis("chord claim", groupID: groupID) {
            try await chords.extendClaim(groupID: groupID, token: token)
        }
        guard extended == true else {
            logger.warning("chord.claim_lost", ["group": groupID, "note": "another worker publishes the body"])
            return
        }
        let context = CanvasBuilder.Context(parentID: taskID, rootID: rootID(of: message))
        let results = JSONValue.array(entries.map(\.result))
        do {
            let plan = try CanvasBuilder.plan(body, args: [results], context: context, origin: app.origin, replyTo: app.replyTo)
            try await app.publish(plan)
        } catch {
            logger.error("chord.body_failed", ["group": groupID, "body": bodyID, "error": "\(error)"])
            await failChord(body, bodyID: bodyID, groupID: groupID, reason: "Callback error: \(error)", message: message)
            return
        }
        _ = await retryingRedis("chord cleanup", groupID: groupID) { try await chords.finish(groupID: groupID, token: token) }
        logger.info("chord.completed", ["group": groupID, "body": bodyID, "results": "\(entries.count)"])
    }

    private func failChord(_ body: Signature, bodyID: String, groupID: String, reason: String, message: TaskMessage) async {
        var failure = TaskFailure(type: "ChordError", module: "celery.exceptions", message: reason)
        failure.traceback =
            "Traceback (most recent call last):\n  File \"celeriac\", in chord \(groupID)\n"
            + "celery.exceptions.ChordError: \(reason)\n"
        let meta = TaskResultMeta(
            taskID: bodyID, state: .failure, result: failure.storedValue, traceback: failure.traceback, dateDone: Date())
        await writer.waitUntilWritten(writer.enqueue([.store(meta)]))
        logger.info("chord.failed", ["group": groupID, "body": bodyID, "error": reason])
        await failChain(body.options["chain"]?.arrayValue ?? [], failure, cause: message)
        await publishErrbacks(Signature.signatureList(body.options["link_error"]), failedID: bodyID, cause: message)
        _ = await retryingRedis("chord size drop", groupID: groupID) { try await self.app.backend.chords.dropSize(groupID: groupID) }
    }

    // MARK: - Helpers

    /// One recorded header result.
    typealias ChordEntry = (taskID: String, state: TaskState, result: JSONValue)

    /// Applies a signature (task or canvas) as a child of `cause`. Returns its result shape, or
    /// `nil` (logged) when it could not be sent.
    func apply(_ value: JSONValue, args: [JSONValue], context: CanvasBuilder.Context, cause: TaskMessage) async -> CanvasPlan.Node? {
        do {
            let plan = try CanvasBuilder.plan(
                try Signature(value), args: args, context: context, origin: app.origin, replyTo: app.replyTo)
            try await app.publish(plan)
            return plan.result
        } catch {
            logger.error("callback.failed", ["parent": cause.id, "signature": value.serializedString, "error": "\(error)"])
            return nil
        }
    }

    /// The workflow's root: the message's `root_id`, or its own id.
    func rootID(of message: TaskMessage) -> String {
        message.headers["root_id"]?.stringValue ?? message.id
    }

    /// Runs a chord step under ``RetryPolicy/chordStep`` (about a minute). `nil` after giving up
    /// (logged; the chord's keys expire, its body does not run).
    private func retryingRedis<T: Sendable>(
        _ what: String, groupID: String, _ operation: @Sendable () async throws -> T
    ) async -> T? {
        do {
            return try await RetryPolicy.chordStep.run(operation) { _, failures in
                if failures == 1 { logger.warning("redis.unreachable", ["while": what, "group": groupID, "action": "retrying"]) }
            }
        } catch {
            let reason = error.isTemporaryRedisFailure ? "Redis stayed unreachable: \(error)" : "\(error)"
            logger.error("chord.error", ["while": what, "group": groupID, "error": reason])
            return nil
        }
    }
}
