/// The top-level members a record parse builds (``JSONParser/parseRecord(_:in:layouts:keep:)``),
/// matched by their UTF-8 bytes as Python compares keys.
struct JSONFieldFilter: Sendable {
    let names: Set<String>
    private let encoded: [[UInt8]]

    /// Keeps no member.
    static let nothing = JSONFieldFilter([])

    init(_ names: Set<String>) {
        self.names = names
        self.encoded = names.map { Array($0.utf8) }
    }

    func matches(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        encoded.contains { $0.count == range.count && $0.elementsEqual(bytes[range]) }
    }
}
