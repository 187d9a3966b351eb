/// The fields a function reads of one JSON record, as the scanner (``JSONRecordScanner``) found
/// them in the read buffer: numbers and literals decoded, plain ASCII strings left as byte ranges,
/// nothing allocated. Valid until the scanner reads the next record.
///
/// Every accessor gives what the same field of the record parsed as a ``JSONObject`` gives
/// (``value(_:)`` exactly that value), so a function's view path and object path agree.
struct JSONRecordView {
    enum Kind: UInt8 {
        case missing, null, falseValue, trueValue, integer, double
        /// A string of ASCII bytes without escapes: its bytes are the string's UTF-8.
        case asciiString
        /// A string with escapes or non-ASCII bytes, or an object or array: decoded at scan time
        /// (rare in datasets), held in ``materialized``.
        case decoded
    }

    struct Slot {
        var kind = Kind.missing
        /// The bytes of an `asciiString` (inside the quotes).
        var start = 0
        var end = 0
        var integer = 0
        var double = 0.0
    }

    /// The scanner's read buffer.
    var bytes: [UInt8] = []
    var slots: [Slot]
    /// The values of `decoded` slots.
    var materialized: [JSONValue]

    init(fieldCount: Int) {
        slots = Array(repeating: Slot(), count: fieldCount)
        materialized = Array(repeating: .null, count: fieldCount)
    }

    func kind(_ slot: Int) -> Kind { slots[slot].kind }

    /// The field as the object path would hold it (`nil`: absent).
    func value(_ slot: Int) -> JSONValue? {
        let field = slots[slot]
        switch field.kind {
        case .missing: return nil
        case .null: return .null
        case .falseValue: return .bool(false)
        case .trueValue: return .bool(true)
        case .integer: return .integer(field.integer)
        case .double: return .double(field.double)
        case .asciiString: return .string(String(decoding: bytes[field.start..<field.end], as: UTF8.self))
        case .decoded: return materialized[slot]
        }
    }

    /// The number, when the field is one (`isNumber` and `doubleValue` of the object path).
    func number(_ slot: Int) -> Double? {
        let field = slots[slot]
        switch field.kind {
        case .integer: return Double(field.integer)
        case .double: return field.double
        case .decoded: return materialized[slot].isNumber ? materialized[slot].doubleValue : nil
        default: return nil
        }
    }

    /// The UTF-8 bytes of an `asciiString` field.
    func asciiBytes(_ slot: Int) -> ArraySlice<UInt8>? {
        let field = slots[slot]
        return field.kind == .asciiString ? bytes[field.start..<field.end] : nil
    }
}
