import Foundation

/// Celery's `LimitedSet`, for revoked task ids: at most ``maximum`` ids, each forgotten
/// ``expiry`` after it was (last) added; when full, the oldest go first. A flood of revokes
/// therefore costs bounded memory (Celery: 50,000 ids, 3 hours).
struct LimitedSet: Sendable {
    /// The most ids held.
    let maximum: Int
    /// How long an id is held.
    let expiry: TimeInterval
    private var expiries: [String: Date] = [:]
    /// Ids in the order they were added, which is also the order they expire in; an entry whose
    /// date is not the id's current one was superseded by a later add and is skipped.
    private var order: [(id: String, expires: Date)] = []
    private var head = 0

    /// An empty set holding at most `maximum` ids, each for `expiry`.
    init(maximum: Int, expiry: Duration) {
        self.maximum = max(1, maximum)
        self.expiry = max(0, expiry.timeInterval)
    }

    /// The ids held.
    var count: Int { expiries.count }

    /// The ids held, sorted.
    var sorted: [String] { expiries.keys.sorted() }

    /// Whether `id` is held and not expired.
    func contains(_ id: String, now: Date = Date()) -> Bool {
        guard let expires = expiries[id] else { return false }
        return expires > now
    }

    /// The ids of `ids` not held now.
    func missing(from ids: some Sequence<String>, now: Date = Date()) -> Set<String> {
        Set(ids.filter { !contains($0, now: now) })
    }

    /// Adds `ids` (or renews them), then forgets expired ids and, past ``maximum``, the oldest.
    mutating func insert(_ ids: some Sequence<String>, now: Date = Date()) {
        let expires = now.addingTimeInterval(expiry)
        for id in ids {
            expiries[id] = expires
            order.append((id, expires))
        }
        purge(now: now)
    }

    /// Forgets expired ids, and the oldest while more than ``maximum`` are held.
    mutating func purge(now: Date = Date()) {
        while head < order.count {
            let (id, expires) = order[head]
            let current = expiries[id] == expires
            guard !current || expiries.count > maximum || expires <= now else { break }
            if current { expiries[id] = nil }
            head += 1
        }
        // Renewed ids leave superseded entries behind: compact once they are most of the array.
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        if order.count - head > 2 * expiries.count + 1024 {
            order = order[head...].filter { expiries[$0.id] == $0.expires }
            head = 0
        }
    }
}
