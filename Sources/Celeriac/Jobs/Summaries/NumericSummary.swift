/// Count, sum, mean, variance, minimum and maximum of a stream of numbers, mergeable across
/// partitions (Welford's update per value, Chan et al.'s combination per merge).
///
/// Counts, minimum and maximum merge exactly; sums and moments in floating point, so two splits of
/// the same data agree to within rounding (relative 1e-12 for the sizes jobs see).
public struct NumericSummary: Sendable, Hashable, Codable {
    /// How many values were added.
    public private(set) var count = 0
    /// Their sum and mean.
    public private(set) var sum = 0.0
    public private(set) var mean = 0.0
    /// The sum of squared deviations from the mean (`M2`).
    public private(set) var squaredDeviations = 0.0
    /// The smallest and largest values (±infinity while empty).
    public private(set) var minimum = Double.infinity
    public private(set) var maximum = -Double.infinity

    /// An empty summary.
    public init() {}

    private enum CodingKeys: String, CodingKey { case count, sum, mean, m2, min, max }

    /// Decodes a summary; an empty one carries no minimum or maximum (JSON has no infinities).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        count = try container.decode(Int.self, forKey: .count)
        guard count >= 0, count < 1 << 52 else {
            throw DecodingError.dataCorruptedError(forKey: .count, in: container, debugDescription: "count out of range")
        }
        guard count > 0 else { return }
        sum = try container.decode(Double.self, forKey: .sum)
        mean = try container.decode(Double.self, forKey: .mean)
        squaredDeviations = try container.decode(Double.self, forKey: .m2)
        minimum = try container.decode(Double.self, forKey: .min)
        maximum = try container.decode(Double.self, forKey: .max)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        guard count > 0 else { return }
        try container.encode(sum, forKey: .sum)
        try container.encode(mean, forKey: .mean)
        try container.encode(squaredDeviations, forKey: .m2)
        try container.encode(minimum, forKey: .min)
        try container.encode(maximum, forKey: .max)
    }

    /// Adds one value; NaN and infinities are ignored.
    public mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        count += 1
        sum += value
        let delta = value - mean
        mean += delta / Double(count)
        squaredDeviations += delta * (value - mean)
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }

    /// Combines `other` into this summary.
    public mutating func merge(_ other: NumericSummary) {
        guard other.count > 0 else { return }
        guard count > 0 else {
            self = other
            return
        }
        let total = Double(count) + Double(other.count)
        let delta = other.mean - mean
        mean += delta * Double(other.count) / total
        squaredDeviations += other.squaredDeviations + delta * delta * Double(count) * Double(other.count) / total
        count = count.addingSaturated(other.count)
        sum += other.sum
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
    }

    /// The population variance (`M2 / n`); 0 for fewer than two values.
    public var variance: Double { count > 1 ? max(squaredDeviations / Double(count), 0) : 0 }
    /// The population standard deviation.
    public var standardDeviation: Double { variance.squareRoot() }
}
