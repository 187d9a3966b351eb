@testable import Celeriac
import Foundation
import Synchronization
import Testing

/// The in-memory holds of near-ETA messages: one loop releases each when due, soonest first.
@Suite struct DelayedDeliveriesTests {
    private func delivery(_ tag: String) -> Delivery {
        Delivery(
            message: TaskMessage(task: "t", origin: "o", replyTo: "r"), raw: Array("{}".utf8), deliveryTag: tag,
            queue: "celery")
    }

    @Test func releasesEachWhenDueSoonestFirstAndCloseReturnsTheRest() async throws {
        let delayed = DelayedDeliveries()
        let released = Mutex<[String]>([])
        let now = Date()
        delayed.hold(delivery("later"), until: now + 0.3)
        delayed.hold(delivery("soon"), until: now + 0.1)
        delayed.hold(delivery("past"), until: now - 1)  // due at once
        delayed.hold(delivery("far"), until: now + 3_600)
        #expect(Set(delayed.deliveryTags) == ["later", "soon", "past", "far"])
        let loop = Task { await delayed.run { delivery in released.withLock { $0.append(delivery.deliveryTag) } } }
        let deadline = ContinuousClock.now + .seconds(10)
        while released.withLock({ $0.count }) < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(released.withLock { $0 } == ["past", "soon", "later"])
        #expect(delayed.snapshot.map(\.deliveryTag) == ["far"])
        // A hold made while the loop sleeps towards a later ETA wakes it.
        delayed.hold(delivery("sooner"), until: Date() + 0.05)
        // A deadline of its own: on a loaded machine the first part can take most of the first.
        let secondDeadline = ContinuousClock.now + .seconds(10)
        while released.withLock({ $0.count }) < 4, ContinuousClock.now < secondDeadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(released.withLock { $0.last } == "sooner")
        #expect(delayed.close().map(\.deliveryTag) == ["far"])
        await loop.value  // close ends the loop
        #expect(!delayed.hold(delivery("after-close"), until: Date()))
        #expect(delayed.snapshot.isEmpty)
    }
}
