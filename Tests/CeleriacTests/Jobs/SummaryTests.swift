@testable import Celeriac
import Foundation
import Testing

/// The mergeable summaries behind job partials: exact where they claim to be, within the stated
/// bound where they do not, and the same whatever the split.
@Suite struct SummaryTests {
    @Test func numericSummaryMatchesHandCheckedValues() {
        var summary = NumericSummary()
        for value in [2.0, 4, 4, 4, 5, 5, 7, 9] { summary.add(value) }
        #expect(summary.count == 8)
        #expect(summary.sum == 40)
        #expect(summary.mean == 5)
        #expect(abs(summary.standardDeviation - 2) < 1e-12)  // population deviation
        #expect(summary.minimum == 2 && summary.maximum == 9)
        summary.add(.nan)
        summary.add(.infinity)
        #expect(summary.count == 8)
    }

    @Test(arguments: [1, 2, 3, 7, 50])
    func numericSummaryMergeIsIndependentOfTheSplit(parts: Int) {
        var random = SplitMix64(seed: 7)
        let values = (0..<1000).map { _ in random.unit() * 1000 - 300 }
        var whole = NumericSummary()
        for value in values { whole.add(value) }
        var merged = NumericSummary()
        for chunk in stride(from: 0, to: values.count, by: (values.count + parts - 1) / parts) {
            var part = NumericSummary()
            for value in values[chunk..<min(chunk + (values.count + parts - 1) / parts, values.count)] { part.add(value) }
            merged.merge(part)
        }
        #expect(merged.count == whole.count)
        #expect(merged.minimum == whole.minimum && merged.maximum == whole.maximum)
        #expect(abs(merged.sum - whole.sum) <= 1e-9 * abs(whole.sum))
        #expect(abs(merged.mean - whole.mean) <= 1e-9 * abs(whole.mean))
        #expect(abs(merged.variance - whole.variance) <= 1e-9 * whole.variance)
    }

    @Test func emptySummariesEncodeWithoutInfinities() throws {
        let json = try JSONValue(encoding: NumericSummary())
        #expect(json["min"] == nil)
        #expect(try json.decode(as: NumericSummary.self) == NumericSummary())
        #expect(try JSONValue(encoding: QuantileSketch()).decode(as: QuantileSketch.self) == QuantileSketch())
    }

    @Test func sketchQuantilesAreWithinTheRelativeError() {
        var sketch = QuantileSketch(relativeAccuracy: 0.01)
        let values = (1...10_000).map(Double.init)
        for value in values.shuffled() { sketch.add(value) }
        for q in [0.01, 0.25, 0.5, 0.9, 0.99] {
            let exact = values[Int((q * Double(values.count - 1)).rounded(.down))]
            let estimate = sketch.quantile(q) ?? 0
            #expect(abs(estimate - exact) <= 0.01 * exact + 1, "q=\(q): \(estimate) vs \(exact)")
        }
        #expect(sketch.quantile(0) == 1 && sketch.quantile(1) == 10_000)
        #expect(QuantileSketch().quantile(0.5) == nil)
    }

    @Test func sketchHandlesNegativesAndZero() {
        var sketch = QuantileSketch()
        for value in [-100.0, -10, -1, 0, 0, 1, 10, 100] { sketch.add(value) }
        #expect(abs((sketch.quantile(0.0) ?? 0) - -100) < 1e-9)
        let median = sketch.quantile(0.5) ?? 99
        #expect(median == 0)
        #expect(abs((sketch.quantile(0.2) ?? 0) - -10) <= 0.1 + 1e-9)
        #expect(sketch.rank(below: 0) == 3)
        #expect(sketch.rank(below: 0.5) == 5)
    }

    @Test(arguments: [2, 5, 16])
    func sketchMergeEqualsTheSketchOfTheWhole(parts: Int) {
        var random = SplitMix64(seed: 11)
        let values = (0..<5000).map { _ in Foundation.exp(random.unit() * 10) - 20 }
        var whole = QuantileSketch()
        for value in values { whole.add(value) }
        var pieces = Array(repeating: QuantileSketch(), count: parts)
        for (index, value) in values.enumerated() { pieces[index % parts].add(value) }
        var leftToRight = QuantileSketch()
        for piece in pieces { leftToRight.merge(piece) }
        var rightToLeft = QuantileSketch()
        for piece in pieces.reversed() { rightToLeft.merge(piece) }
        #expect(leftToRight == whole)
        #expect(rightToLeft == whole)
    }

    @Test func sketchStaysBoundedOnHugeRanges() {
        var sketch = QuantileSketch(maximumBuckets: 64)
        for exponent in -300...300 { sketch.add(Foundation.pow(10, Double(exponent))) }
        #expect(sketch.count == 601)
        // The top quantiles keep their accuracy; only the lowest were folded together.
        let p99 = sketch.quantile(0.99) ?? 0
        #expect(p99 > 1e290)
    }

    @Test func hostileSketchJSONIsRefused() throws {
        let hostile: JSONValue = [
            "alpha": 0.01, "max_buckets": 2048, "positive": ["offset": .integer(Int.max - 1), "counts": [1, 2]],
            "negative": ["offset": 0, "counts": []], "zero": 0, "count": 3, "min": 1, "max": 2,
        ]
        #expect(throws: (any Error).self) { try hostile.decode(as: QuantileSketch.self) }
        let negativeCount: JSONValue = ["count": -5, "sum": 1, "mean": 1, "m2": 0, "min": 1, "max": 1]
        #expect(throws: (any Error).self) { try negativeCount.decode(as: NumericSummary.self) }
    }
}
