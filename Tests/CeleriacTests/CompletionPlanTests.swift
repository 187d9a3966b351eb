@testable import Celeriac
import Foundation
import Testing

/// Celery's rules for finishing a task, as ordered effects, without Redis.
@Suite struct CompletionPlanTests {
    typealias Effect = CompletionPlan.Effect

    private struct Flaky: Error {}

    private func message(retries: Int = 0, chordHeader: Bool = false) -> TaskMessage {
        var message = TaskMessage(
            task: "t", args: [1], options: TaskOptions(groupID: chordHeader ? "g" : nil, retries: retries),
            origin: "o", replyTo: "r")
        if chordHeader { message.embed["chord"] = ["task": "body", "options": ["task_id": "b"]] }
        return message
    }

    private func plan(
        _ ending: CompletionPlan.Ending, _ message: TaskMessage? = nil, settings: TaskSettings = TaskSettings(),
        acksLate: Bool = false, ignoreResult: Bool = false
    ) -> [Effect] {
        CompletionPlan.plan(
            ending, for: message ?? self.message(), task: settings, acksLate: acksLate, ignoreResult: ignoreResult
        ).effects
    }

    /// The kinds of effects, in order, for rules about order.
    private func kinds(_ effects: [Effect]) -> [String] {
        effects.map { effect in
            switch effect {
            case .report(let report):
                switch report {
                case .succeeded: "report success"
                case .revoked: "report revoked"
                case .retried: "report retry"
                case .failed: "report failure"
                case .abandoned: "report abandoned"
                }
            case .publishCallbacks: "callbacks"
            case .publishRetry: "publish retry"
            case .store(let stored): "store \(stored.state.rawValue)"
            case .returnChordPart(let state, _): "part \(state.rawValue)"
            case .ack: "ack"
            case .failChain: "fail chain"
            case .publishErrbacks: "errbacks"
            }
        }
    }

    @Test func successPublishesCallbacksBeforeStoringThenAcksLate() {
        #expect(kinds(plan(.succeeded(5))) == ["callbacks", "report success", "store SUCCESS"])
        #expect(kinds(plan(.succeeded(5), acksLate: true)) == ["callbacks", "report success", "store SUCCESS", "ack"])
        guard case .store(let stored) = plan(.succeeded(5))[2] else { Issue.record("no store"); return }
        #expect(stored.result == 5 && stored.children == .published && stored.done)
    }

    @Test func aChordHeaderReturnsItsPartAfterTheStoreAndBeforeTheAck() {
        let header = message(chordHeader: true)
        #expect(
            kinds(plan(.succeeded(5), header, acksLate: true))
                == ["callbacks", "report success", "store SUCCESS", "part SUCCESS", "ack"])
        // ignore_result: nothing stored, the part still returned (the chord counts it).
        #expect(kinds(plan(.succeeded(5), header, ignoreResult: true)) == ["callbacks", "report success", "part SUCCESS"])
        #expect(plan(.succeeded(5), header).contains(.returnChordPart(state: .success, result: 5)))
    }

    @Test func aRetryPublishesThenStoresRetryThenAcks() {
        let retry = TaskRetryRequest(countdown: .seconds(2), error: nil)
        let effects = plan(.failed(retry), message(retries: 1), acksLate: true)
        #expect(kinds(effects) == ["publish retry", "store RETRY", "ack", "report retry"])
        guard case .publishRetry(let published) = effects[0], case .store(let stored) = effects[1] else {
            Issue.record("no retry")
            return
        }
        #expect(published.retries == 2 && published.countdown == .seconds(2))
        #expect(published.cause.type == "Retry")
        #expect(stored.children == .retriedTask && !stored.done)
        // Should the publish fail, the task fails instead, by the failure rules.
        #expect(kinds(published.otherwise.effects) == ["report failure", "store FAILURE", "ack", "fail chain", "errbacks"])
    }

    @Test func retriesStopAtTheLimitWithTheCauseOrMaxRetriesExceeded() {
        let settings = TaskSettings(maxRetries: 2)
        let bare = plan(.failed(TaskRetryRequest(countdown: nil, error: nil)), message(retries: 2), settings: settings)
        guard case .report(.failed(let failure)) = bare[0] else { Issue.record("not failed"); return }
        #expect(failure.type == "MaxRetriesExceededError")
        #expect(failure.message.hasPrefix("Can't retry t["))
        let caused = plan(
            .failed(TaskRetryRequest(countdown: nil, error: TaskFailure(type: "KeyError", message: "k"))),
            message(retries: 2), settings: settings)
        #expect(caused.contains { if case .report(.failed(let f)) = $0 { f.type == "KeyError" } else { false } })
        // A request's own limit replaces the task's; .unlimited retries for ever.
        let own = plan(.failed(TaskRetryRequest(countdown: nil, maxRetries: 5, error: nil)), message(retries: 4), settings: settings)
        #expect(kinds(own).first == "publish retry")
        let unlimited = plan(.failed(TaskRetryRequest(countdown: nil, maxRetries: .unlimited, error: nil)), message(retries: 50), settings: settings)
        #expect(kinds(unlimited).first == "publish retry")
        // The countdown defaults to the task's defaultRetryDelay.
        guard case .publishRetry(let retry)? = plan(.failed(TaskRetryRequest(countdown: nil, error: nil))).first
        else { Issue.record("no retry"); return }
        #expect(retry.countdown == .seconds(180))
    }

    @Test func autoretryMatchesItsErrorsOnly() {
        let settings = TaskSettings(autoretry: AutoRetryPolicy(for: [Flaky.self], backoff: nil))
        #expect(kinds(plan(.failed(Flaky()), settings: settings)).first == "publish retry")
        #expect(kinds(plan(.failed(TaskFailure(type: "ValueError", message: "x")), settings: settings)).first == "report failure")
    }

    @Test func aFailureIsStoredPartReturnedAndAckedBeforeTheChainFailsAndErrbacksGo() {
        let effects = plan(.failed(TaskFailure(type: "ValueError", message: "boom")), message(chordHeader: true), acksLate: true)
        #expect(kinds(effects) == ["report failure", "store FAILURE", "part FAILURE", "ack", "fail chain", "errbacks"])
        guard case .store(let stored) = effects[1] else { Issue.record("no store"); return }
        #expect(stored.traceback?.contains("ValueError: boom") == true)
        #expect(stored.done)
    }

    @Test func aHardTimeLimitFailsWithTimeLimitExceeded() {
        let effects = plan(.timeLimitExceeded(.milliseconds(300)))
        #expect(kinds(effects) == ["report abandoned", "report failure", "store FAILURE", "fail chain", "errbacks"])
        guard case .report(.failed(let failure)) = effects[1] else { Issue.record("not failed"); return }
        #expect(failure.type == "TimeLimitExceeded" && failure.module == "billiard.exceptions")
        #expect(failure.arguments == [0.3])
    }

    @Test func revokedTasksStoreRevokedAndADiscardedOneIsAlwaysAcked() {
        #expect(kinds(plan(.terminated)) == ["report revoked", "store REVOKED"])
        #expect(plan(.terminated).first == .report(.revoked(reason: "terminated", terminated: true, expired: false)))
        // Never started, so never acked yet: acked after the store even for an early-ack task.
        let discarded = CompletionPlan.plan(
            .discarded(.expired), for: message(chordHeader: true), task: nil, acksLate: false, ignoreResult: false).effects
        #expect(kinds(discarded) == ["report revoked", "store REVOKED", "part REVOKED", "ack"])
        #expect(discarded.first == .report(.revoked(reason: "expired", terminated: false, expired: true)))
    }
}
