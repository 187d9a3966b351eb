import Foundation

/// A mergeable quantile sketch (DDSketch, Masson et al., VLDB 2019), written for job partials.
///
/// Values fall into logarithmic buckets `γ^(i-1) < |x| ≤ γ^i` with `γ = (1+α)/(1-α)`, so every
/// quantile it returns is within a **relative error of α** (1% by default) of a value of the data
/// at that rank. Merging adds bucket counts, so it is exact and associative: any split of the data
/// into partitions gives the same sketch. Memory is bounded: past ``maximumBuckets`` buckets per
/// sign the smallest-magnitude buckets are folded together (only the lowest quantiles lose accuracy
/// then, which needs a dynamic range beyond ~10^17 at α = 1%).
public struct QuantileSketch: Sendable, Hashable, Codable {
    /// The relative accuracy α.
    public let relativeAccuracy: Double
    /// The most buckets kept for each sign.
    public let maximumBuckets: Int
    private var positive = BucketStore()
    private var negative = BucketStore()
    /// Values whose magnitude is below ``minimumIndexable`` (zero included).
    private var zeroCount = 0
    /// How many values were added.
    public private(set) var count = 0
    /// The exact smallest and largest values added (quantiles are clamped to them).
    public private(set) var minimum = Double.infinity
    public private(set) var maximum = -Double.infinity

    private var gamma: Double { (1 + relativeAccuracy) / (1 - relativeAccuracy) }
    private var logGamma: Double { Foundation.log(gamma) }
    static let minimumIndexable = 1e-9

    /// An empty sketch with relative accuracy `relativeAccuracy` (clamped to 0.0001...0.5).
    public init(relativeAccuracy: Double = 0.01, maximumBuckets: Int = 2048) {
        self.relativeAccuracy = min(max(relativeAccuracy.isFinite ? relativeAccuracy : 0.01, 0.0001), 0.5)
        self.maximumBuckets = min(max(maximumBuckets, 16), 65_536)
    }

    private enum CodingKeys: String, CodingKey {
        case relativeAccuracy = "alpha"
        case maximumBuckets = "max_buckets"
        case positive, negative
        case zeroCount = "zero"
        case count
        case minimum = "min"
        case maximum = "max"
    }

    /// Decodes a sketch; an empty one carries no minimum or maximum (JSON has no infinities).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            relativeAccuracy: try container.decode(Double.self, forKey: .relativeAccuracy),
            maximumBuckets: try container.decode(Int.self, forKey: .maximumBuckets))
        positive = try container.decode(BucketStore.self, forKey: .positive)
        negative = try container.decode(BucketStore.self, forKey: .negative)
        zeroCount = try container.decode(Int.self, forKey: .zeroCount)
        count = try container.decode(Int.self, forKey: .count)
        guard count >= 0, count < 1 << 52 else {
            throw DecodingError.dataCorruptedError(forKey: .count, in: container, debugDescription: "count out of range")
        }
        guard count > 0 else { return }
        minimum = try container.decode(Double.self, forKey: .minimum)
        maximum = try container.decode(Double.self, forKey: .maximum)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(relativeAccuracy, forKey: .relativeAccuracy)
        try container.encode(maximumBuckets, forKey: .maximumBuckets)
        try container.encode(positive, forKey: .positive)
        try container.encode(negative, forKey: .negative)
        try container.encode(zeroCount, forKey: .zeroCount)
        try container.encode(count, forKey: .count)
        guard count > 0 else { return }
        try container.encode(minimum, forKey: .minimum)
        try container.encode(maximum, forKey: .maximum)
    }

    /// Adds one value; NaN and infinities are ignored (they have no rank a bucket can hold).
    public mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        count += 1
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
        let magnitude = abs(value)
        if magnitude < Self.minimumIndexable {
            zeroCount += 1
        } else if value > 0 {
            positive.add(index(of: magnitude), limit: maximumBuckets)
        } else {
            negative.add(index(of: magnitude), limit: maximumBuckets)
        }
    }

    /// Adds every count of `other` to this sketch.
    /// - Precondition: both have the same relative accuracy (the sketches of one job do);
    ///   a sketch of another accuracy is folded in by its bucket values instead.
    public mutating func merge(_ other: QuantileSketch) {
        guard other.count > 0 else { return }
        if other.relativeAccuracy == relativeAccuracy {
            positive.merge(other.positive, limit: maximumBuckets)
            negative.merge(other.negative, limit: maximumBuckets)
        } else {
            for (index, bucketCount) in other.positive.buckets {
                positive.add(self.index(of: other.value(at: index)), count: bucketCount, limit: maximumBuckets)
            }
            for (index, bucketCount) in other.negative.buckets {
                negative.add(self.index(of: other.value(at: index)), count: bucketCount, limit: maximumBuckets)
            }
        }
        zeroCount = zeroCount.addingSaturated(other.zeroCount)
        count = count.addingSaturated(other.count)
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    /// The value at quantile `q` (0...1): the value of rank `⌊q·(n−1)⌋` in sorted order (the
    /// "lower" quantile, as DDSketch defines it), within the relative accuracy; `nil` when empty.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0, q.isFinite else { return nil }
        let clamped = min(max(q, 0), 1)
        if clamped == 0 { return minimum }
        if clamped == 1 { return maximum }
        let rank = clamped * Double(count - 1)
        var seen = 0.0
        for (index, bucketCount) in negative.buckets.reversed() {
            seen += Double(bucketCount)
            if seen > rank { return clamp(-value(at: index)) }
        }
        seen += Double(zeroCount)
        if seen > rank { return clamp(0) }
        for (index, bucketCount) in positive.buckets {
            seen += Double(bucketCount)
            if seen > rank { return clamp(value(at: index)) }
        }
        return maximum
    }

    /// About how many values are below `value` (each bucket counts whole on the side of its
    /// representative value, so the answer is exact up to the values within α of `value`).
    public func rank(below value: Double) -> Int {
        guard count > 0 else { return 0 }
        var below = 0
        for (index, bucketCount) in negative.buckets where -self.value(at: index) < value { below = below.addingSaturated(bucketCount) }
        if value > 0 { below = below.addingSaturated(zeroCount) }
        for (index, bucketCount) in positive.buckets where self.value(at: index) < value { below = below.addingSaturated(bucketCount) }
        return below
    }

    private func clamp(_ value: Double) -> Double { min(max(value, minimum), maximum) }

    private func index(of magnitude: Double) -> Int {
        let raw = (Foundation.log(magnitude) / logGamma).rounded(.up)
        // |log(x)| for finite doubles is below 745, so the quotient stays far inside Int's range.
        return Int(raw)
    }

    /// The bucket's representative value: the point whose relative error to both edges is α.
    private func value(at index: Int) -> Double {
        2 * Foundation.pow(gamma, Double(index)) / (gamma + 1)
    }
}

/// Contiguous bucket counts from `offset` up, collapsing the lowest buckets past a limit.
private struct BucketStore: Sendable, Hashable, Codable {
    var offset = 0
    var counts: [Int] = []

    init() {}

    /// Decodes a store from a partial another process wrote: offsets and sizes no real sketch
    /// reaches, or negative counts, are refused rather than trusted in index arithmetic.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let offset = try container.decode(Int.self, forKey: .offset)
        let counts = try container.decode([Int].self, forKey: .counts)
        guard abs(offset) <= 1_000_000, counts.count <= 65_536, counts.allSatisfy({ $0 >= 0 && $0 < 1 << 52 }) else {
            throw DecodingError.dataCorruptedError(
                forKey: .offset, in: container, debugDescription: "quantile sketch buckets out of range")
        }
        self.offset = offset
        self.counts = counts
    }

    /// The non-empty buckets, lowest index first.
    var buckets: [(index: Int, count: Int)] {
        counts.indices.compactMap { counts[$0] > 0 ? (offset + $0, counts[$0]) : nil }
    }

    mutating func add(_ index: Int, count: Int = 1, limit: Int) {
        if counts.isEmpty {
            offset = index
            counts = [count]
            return
        }
        if index < offset {
            // Below the collapsed floor: counted in the lowest bucket.
            if counts.count >= limit {
                counts[0] = counts[0].addingSaturated(count)
                return
            }
            counts.insert(contentsOf: repeatElement(0, count: offset - index), at: 0)
            offset = index
        } else if index >= offset + counts.count {
            counts.append(contentsOf: repeatElement(0, count: index - offset - counts.count + 1))
        }
        counts[index - offset] = counts[index - offset].addingSaturated(count)
        collapse(limit: limit)
    }

    mutating func merge(_ other: BucketStore, limit: Int) {
        for (index, count) in other.buckets { add(index, count: count, limit: limit) }
    }

    private mutating func collapse(limit: Int) {
        guard counts.count > limit else { return }
        let excess = counts.count - limit
        let folded = counts[0...excess].reduce(0, Int.saturated)
        counts.removeFirst(excess)
        counts[0] = folded
        offset += excess
    }
}
