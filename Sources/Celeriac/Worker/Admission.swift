import Foundation

/// What a worker does with a decoded message, decided from the message, the time, the revoked
/// ids and what is registered alone, without effects, in Celery's order: an unknown task name is
/// rejected, then a revoked id, then an expired message is revoked, then a message whose ETA is
/// still ahead is held. Every path takes its decision here: a batched fetch and a BRPOP record
/// (``Worker/receive(_:decoded:)``), BRPOP's hand-over to an idle runner
/// (``Worker/isAckedOnArrival(_:now:)``), and a runner's last check before it starts a message
/// that waited in the prefetch window (``Worker/execute(_:)``). ETA messages promoted from the
/// scheduled set come back through a fetch. (An envelope that does not decode, or is too large,
/// is dead-lettered before there is a message to admit.)
enum Admission: Equatable, Sendable {
    /// Run it now.
    case run
    /// Hold it until its ETA.
    case hold(until: Date)
    /// Store REVOKED and ack it, for `reason`.
    case revoke(RevokeReason)
    /// Dead-letter it and store FAILURE `NotRegistered`: no task of its name is registered here.
    case reject(notRegistered: String)

    /// Why a message is revoked on arrival.
    enum RevokeReason: String, Sendable {
        /// Its id is in the revoked set.
        case revoked
        /// Its `expires` has passed.
        case expired
    }

    /// Decides what to do with `message` at `now`.
    /// - Parameters:
    ///   - isRegistered: whether a task of the message's name is registered.
    ///   - isRevoked: whether an id is in the revoked set.
    static func admit(
        _ message: TaskMessage, now: Date, isRegistered: Bool, isRevoked: (String) -> Bool
    ) -> Admission {
        guard isRegistered else { return .reject(notRegistered: message.taskName) }
        if isRevoked(message.id) { return .revoke(.revoked) }
        if let expires = message.expires, expires <= now { return .revoke(.expired) }
        if let eta = message.eta, eta > now { return .hold(until: eta) }
        return .run
    }
}

extension Worker {
    /// ``Admission/admit(_:now:isRegistered:isRevoked:)`` with this worker's revoked set, for a
    /// message whose registered task the caller looked up (`task`, `nil` when none).
    func admit(_ message: TaskMessage, task: RegisteredTask?, now: Date) -> Admission {
        Admission.admit(message, now: now, isRegistered: task != nil, isRevoked: { self.isRevoked($0) })
    }
}
