@testable import Celeriac
import Foundation
import Testing

/// The one decision every receiving path takes for a decoded message, without Redis.
@Suite struct AdmissionTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    private func message(eta: Date? = nil, expires: Date? = nil) -> TaskMessage {
        TaskMessage(
            task: "t", options: TaskOptions(eta: eta, expires: expires.map { .at($0) }), origin: "o", replyTo: "r")
    }

    private func admit(_ message: TaskMessage, registered: Bool = true, revoked: Set<String> = []) -> Admission {
        Admission.admit(message, now: now, isRegistered: registered, isRevoked: { revoked.contains($0) })
    }

    @Test func aDueRegisteredMessageRuns() {
        #expect(admit(message()) == .run)
        #expect(admit(message(eta: now)) == .run)
        #expect(admit(message(eta: now - 60, expires: now + 60)) == .run)
    }

    @Test func anETAAheadIsHeld() {
        #expect(admit(message(eta: now + 5)) == .hold(until: now + 5))
    }

    @Test func expiredAndRevokedMessagesAreRevoked() {
        #expect(admit(message(expires: now)) == .revoke(.expired))
        #expect(admit(message(expires: now - 1)) == .revoke(.expired))
        let revoked = message()
        #expect(admit(revoked, revoked: [revoked.id]) == .revoke(.revoked))
    }

    /// Celery's order: an unknown name first, then the revoked set, then expiry, then the ETA.
    @Test func theChecksComeInCelerysOrder() {
        let all = message(eta: now + 5, expires: now - 1)
        #expect(admit(all, registered: false, revoked: [all.id]) == .reject(notRegistered: "t"))
        #expect(admit(all, revoked: [all.id]) == .revoke(.revoked))
        #expect(admit(all) == .revoke(.expired))
        // Expiring after its ETA: held, and checked again when it runs.
        #expect(admit(message(eta: now + 5, expires: now + 60)) == .hold(until: now + 5))
    }
}
