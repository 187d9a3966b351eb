import Testing
import RESP

@Suite struct ReconnectBackoffTests {
    @Test func growsExponentiallyWithinJitterAndCap() {
        let backoff = ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1), multiplier: 2, jitter: 0.5)
        for _ in 0..<200 {
            let first = backoff.delay(afterFailures: 1)
            #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
            let third = backoff.delay(afterFailures: 3)
            #expect(third >= .milliseconds(200) && third <= .milliseconds(400))
            let capped = backoff.delay(afterFailures: 50)
            #expect(capped >= .milliseconds(500) && capped <= .seconds(1))
        }
        #expect(backoff.delay(afterFailures: 0) == .zero)
    }

    @Test func jitterSpreadsDelays() {
        let backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(1), jitter: 0.5)
        let delays = Set((0..<50).map { _ in backoff.delay(afterFailures: 1) })
        #expect(delays.count > 10)
    }
}
