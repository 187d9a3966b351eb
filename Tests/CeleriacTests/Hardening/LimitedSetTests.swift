@testable import Celeriac
import Foundation
import Testing

@Suite struct LimitedSetTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test func holdsAtMostItsMaximumOldestFirst() {
        var set = LimitedSet(maximum: 3, expiry: .seconds(60))
        set.insert(["a", "b"], now: start)
        set.insert(["c", "d"], now: start.addingTimeInterval(1))
        #expect(set.count == 3)
        #expect(!set.contains("a", now: start.addingTimeInterval(1)))
        #expect(set.sorted == ["b", "c", "d"])
    }

    @Test func forgetsIdsAtTheirExpiryAndRenewsReAddedOnes() {
        var set = LimitedSet(maximum: 10, expiry: .seconds(60))
        set.insert(["a", "b"], now: start)
        set.insert(["a"], now: start.addingTimeInterval(30))
        let later = start.addingTimeInterval(61)
        #expect(!set.contains("b", now: later))
        #expect(set.contains("a", now: later))
        set.purge(now: later)
        #expect(set.sorted == ["a"])
        #expect(set.missing(from: ["a", "b"], now: later) == ["b"])
    }

    /// A flood of re-adds of the same few ids does not grow the set's bookkeeping without bound.
    @Test func aFloodOfRevokesStaysBounded() {
        var set = LimitedSet(maximum: 50_000, expiry: .seconds(3600))
        for round in 0..<200 {
            set.insert((0..<1000).map { "id-\(round % 3)-\($0)" }, now: start.addingTimeInterval(Double(round)))
        }
        #expect(set.count == 3000)
        for round in 0..<100 { set.insert((0..<1000).map { "new-\(round)-\($0)" }, now: start) }
        #expect(set.count == 50_000)
    }
}
