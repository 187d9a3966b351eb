/// A JSON object that keeps its keys in insertion order, as Python's `dict` does.
///
/// Lookups are linear, which is the fast choice for the small objects of task messages (headers,
/// kwargs, signatures). Keys match when their UTF-8 bytes do, as Python compares `str` keys by code
/// point (not by Swift's canonical equivalence). Setting an existing key keeps its position.
/// Equality ignores the order, as Python's `dict` does; compare ``keys`` (or the serialized bytes)
/// where the order matters.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// The keys: a shared layout's while they are still its keys, or the object's own. (One
    /// reference either way: `JSONValue`, which holds objects inline, stays 24 bytes.)
    private var keyStorage = KeyStorage.own([])
    public private(set) var values: [JSONValue] = []

    private enum KeyStorage: Sendable {
        case own([String])
        case shared(JSONKeyLayout)
    }

    /// The keys, in order.
    public var keys: [String] {
        switch keyStorage {
        case .own(let keys): keys
        case .shared(let layout): layout.keys
        }
    }

    /// The shared key layout the object was built with, while its keys are still those.
    var layout: JSONKeyLayout? {
        if case .shared(let layout) = keyStorage { layout } else { nil }
    }

    /// An empty object.
    public init() {}

    /// An object with `layout`'s keys and these values, in order (no duplicate check: the layout's
    /// keys are distinct). The object shares the layout's keys and written key text.
    init(layout: JSONKeyLayout, values: [JSONValue]) {
        precondition(layout.keys.count == values.count, "a JSON key layout needs one value per key")
        self.keyStorage = .shared(layout)
        self.values = values
    }

    /// An object with these members, in this order; a repeated key keeps its last value.
    public init(_ members: some Sequence<(String, JSONValue)>) {
        for (key, value) in members { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// The value for `key`; setting `nil` removes the member.
    public subscript(key: String) -> JSONValue? {
        get { index(of: key).map { values[$0] } }
        set {
            if let index = index(of: key) {
                if let newValue {
                    values[index] = newValue
                } else {
                    changeKeys { $0.remove(at: index) }
                    values.remove(at: index)
                }
            } else if let newValue {
                changeKeys { $0.append(key) }
                values.append(newValue)
            }
        }
    }

    /// Changes the keys in place (they become the object's own).
    private mutating func changeKeys(_ change: (inout [String]) -> Void) {
        var keys: [String]
        switch keyStorage {
        case .own(let own): keys = own
        case .shared(let layout): keys = layout.keys
        }
        keyStorage = .own([])  // drops the stored reference, so that `keys` changes without a copy
        change(&keys)
        keyStorage = .own(keys)
    }

    /// The position of `key`: lengths first, which rules out most keys without comparing bytes.
    private func index(of key: String) -> Int? {
        let length = key.utf8.count
        return keys.firstIndex { $0.utf8.count == length && Self.sameBytes($0, key) }
    }

    private static func sameBytes(_ left: String, _ right: String) -> Bool {
        let compared = left.utf8.withContiguousStorageIfAvailable { leftBytes in
            right.utf8.withContiguousStorageIfAvailable { rightBytes in leftBytes.elementsEqual(rightBytes) }
        }
        return (compared ?? nil) ?? left.utf8.elementsEqual(right.utf8)
    }

    /// The number of members.
    public var count: Int { values.count }

    /// Whether the object has no members.
    public var isEmpty: Bool { values.isEmpty }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.count == rhs.count && zip(lhs.keys, lhs.values).allSatisfy { rhs[$0] == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent, to agree with ==: the members' own hashes, summed.
        var sum = 0
        for (key, value) in zip(keys, values) {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            sum &+= member.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        zip(keys, values).lazy.map { (key: $0, value: $1) }.makeIterator()
    }
}

/// The keys of objects that all have the same members in the same order (the headers of every task
/// message a producer builds), with their JSON text written once: writing such an object copies
/// each member's prefix (`{"key": `, then `, "key": `) instead of escaping its key again.
///
/// Keep each layout in a `static let` of its own: an object refers to its layout through an enum
/// payload whose tag bits hide the pointer from LeakSanitizer, which then reports it leaked.
final class JSONKeyLayout: Sendable {
    let keys: [String]
    /// The members' prefixes, back to back.
    private let text: [UInt8]
    /// The end offset in `text` of each member's prefix.
    private let prefixEnds: [Int]

    /// - Precondition: the keys are distinct.
    init(_ keys: [String]) {
        precondition(Set(keys.map { Array($0.utf8) }).count == keys.count, "JSON key layout with a repeated key")
        var text: [UInt8] = []
        var ends: [Int] = []
        for (index, key) in keys.enumerated() {
            text.append(contentsOf: index == 0 ? [UInt8(ascii: "{")] : [UInt8(ascii: ","), UInt8(ascii: " ")])
            JSONWriter.writeString(key, to: &text)
            text.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            ends.append(text.count)
        }
        self.keys = keys
        self.text = text
        self.prefixEnds = ends
    }

    /// Appends the prefix of member `index`.
    @inline(__always) func appendPrefix(_ index: Int, to output: inout [UInt8]) {
        output.append(contentsOf: text[(index == 0 ? 0 : prefixEnds[index - 1])..<prefixEnds[index]])
    }
}
