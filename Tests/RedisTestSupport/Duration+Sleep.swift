import Foundation

extension Duration {
    /// The duration in seconds, for `Thread.sleep(forTimeInterval:)` in the fake peers' threads.
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
