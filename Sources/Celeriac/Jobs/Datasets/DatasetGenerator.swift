import Foundation

/// Writes realistic test data: people with ids, names, emails (about 5% invalid), ages, scores,
/// amounts, categories, timestamps and an active flag; about 3% of items miss a field and 2% have
/// a value of the wrong type (an age of `"forty"`, a score of `"n/a"`). The same seed gives the
/// same file.
public struct DatasetGenerator: Sendable {
    /// The file format.
    public enum Format: String, Sendable, CaseIterable {
        case jsonLines = "jsonl"
        case csv
    }

    public var items: Int
    public var seed: UInt64
    public var format: Format

    public static let categories = ["books", "electronics", "garden", "grocery", "toys", "travel"]
    static let firstNames = [
        "Ada", "Alan", "Grace", "Linus", "Ken", "Barbara", "Edsger", "Margaret", "Dennis", "Frances",
        "John", "Radia", "Guido", "Chris", "Katherine", "Tim",
    ]
    static let lastNames = [
        "Lovelace", "Turing", "Hopper", "Torvalds", "Thompson", "Liskov", "Dijkstra", "Hamilton",
        "Ritchie", "Allen", "Backus", "Perlman", "van Rossum", "Lattner", "Johnson", "Berners-Lee",
    ]
    static let domains = ["example.com", "mail.example.org", "corp.example.net", "uni.example.edu"]
    static let columns = ["id", "name", "email", "age", "score", "amount", "category", "created_at", "active"]

    public init(items: Int, seed: UInt64 = 42, format: Format = .jsonLines) {
        self.items = items
        self.seed = seed
        self.format = format
    }

    /// Writes the items to `path` (replacing it), 1 MiB at a time.
    /// - Throws: ``JobError`` `datasetUnavailable` when the file cannot be written.
    public func write(to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw JobError(.datasetUnavailable, "cannot create \(path)")
        }
        defer { try? handle.close() }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20 + 4096)
        if format == .csv { buffer.append(contentsOf: Array((Self.columns.joined(separator: ",") + "\n").utf8)) }
        var random = SplitMix64(seed: seed)
        do {
            for index in 0..<max(items, 0) {
                appendItem(index, random: &random, to: &buffer)
                if buffer.count >= 1 << 20 {
                    try handle.write(contentsOf: buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            try handle.write(contentsOf: buffer)
        } catch {
            throw JobError(.datasetUnavailable, "cannot write \(path): \(error)")
        }
    }

    /// The values of item `index` (`nil`: the field is missing).
    func values(_ index: Int, random: inout SplitMix64) -> [JSONValue?] {
        let first = Self.firstNames[random.below(Self.firstNames.count)]
        let last = Self.lastNames[random.below(Self.lastNames.count)]
        let emailRoll = random.below(100)
        let local = "\(first).\(last)".lowercased().replacingOccurrences(of: " ", with: "")
        let email: String
        switch emailRoll {
        case 0: email = local  // no @
        case 1: email = "\(local)@"  // no domain
        case 2: email = "\(local)@localhost"  // no dot
        case 3: email = "\(local) @\(Self.domains[0])"  // a space
        case 4: email = "\(local)@@\(Self.domains[1])"
        default: email = "\(local)\(index)@\(Self.domains[random.below(Self.domains.count)])"
        }
        var age: JSONValue = .integer(18 + random.below(70))
        var score: JSONValue = .double((random.unit() * 10000).rounded() / 100)
        // Amounts are skewed like real spending: most small, a long tail.
        let amount: JSONValue = .double((Foundation.exp(random.unit() * 7) * 100).rounded() / 100)
        let category = Self.categories[random.below(Self.categories.count)]
        let created = 1_700_000_000 + random.below(31_536_000)
        let active = random.below(4) != 0
        var values: [JSONValue?] = [
            .integer(index + 1), .string("\(first) \(last)"), .string(email), age, score, amount, .string(category),
            .string(CeleryTimestamp.format(Date(timeIntervalSince1970: Double(created)))), .bool(active),
        ]
        switch random.below(100) {
        case 0:
            age = "forty"
            values[3] = age
        case 1:
            score = "n/a"
            values[4] = score
        case 2, 3, 4: values[2 + random.below(5)] = nil
        default: break
        }
        return values
    }

    private func appendItem(_ index: Int, random: inout SplitMix64, to buffer: inout [UInt8]) {
        let values = values(index, random: &random)
        switch format {
        case .jsonLines:
            var object = JSONObject()
            for (name, value) in zip(Self.columns, values) { if let value { object[name] = value } }
            buffer.append(contentsOf: JSONValue.object(object).serialized())
        case .csv:
            let fields = values.map { value -> String in
                guard let value else { return "" }
                return CSVLine.escape(value.stringValue ?? value.serializedString)
            }
            buffer.append(contentsOf: Array(fields.joined(separator: ",").utf8))
        }
        buffer.append(UInt8(ascii: "\n"))
    }
}

/// A small, fast, seedable generator (Steele et al.'s SplitMix64): the same seed, the same data.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (bound > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// A number in `0..<1`.
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
