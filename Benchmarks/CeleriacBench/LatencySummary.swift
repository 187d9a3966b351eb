import Celeriac
import Foundation

/// The percentiles of a run of round-trip times, in milliseconds (nearest rank).
struct LatencySummary: Sendable {
    var p50 = 0.0
    var p90 = 0.0
    var p99 = 0.0
    var p999 = 0.0
    var maximum = 0.0
    var count = 0

    /// The percentiles of `milliseconds` (any order); all zero when it is empty.
    init(_ milliseconds: [Double]) {
        let sorted = milliseconds.sorted()
        guard let last = sorted.last else { return }
        func rank(_ fraction: Double) -> Double {
            sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
        }
        (p50, p90, p99, p999, maximum, count) = (rank(0.5), rank(0.9), rank(0.99), rank(0.999), last, sorted.count)
    }

    /// Reads what `celery_bench_app.py roundtrip` prints: `{"p50": ms, ..., "max": ms, "count": n}`.
    init?(json: JSONValue) {
        guard let p50 = json["p50"]?.doubleValue, let p90 = json["p90"]?.doubleValue, let p99 = json["p99"]?.doubleValue,
            let p999 = json["p999"]?.doubleValue, let maximum = json["max"]?.doubleValue, let count = json["count"]?.intValue
        else { return nil }
        (self.p50, self.p90, self.p99, self.p999, self.maximum, self.count) = (p50, p90, p99, p999, maximum, count)
    }

    /// The five figures as table cells.
    var cells: String {
        [p50, p90, p99, p999, maximum].map { String(format: "%.3f", $0).leftPadded(10) }.joined()
    }
}
