/// Reads the fields a job function needs from one JSON Lines record in a single pass over its
/// bytes, allocating nothing for the common record (ASCII strings without escapes, numbers,
/// literals): the fast path of the map loop (``PartitionProcessor``).
///
/// The scanner is **stricter** than ``JSONParser`` (strict JSON numbers, no `NaN`/`Infinity`, no
/// escaped keys, bounded nesting): whatever it accepts, the parser accepts with the same values,
/// and whatever it refuses goes to the parser, which decides (a malformed line, or a record
/// written in a way only the parser reads). So the two paths give one result; unit tests compare
/// them line by line on generated and hostile records.
struct JSONRecordScanner {
    /// The names' bytes end to end (one flat array: no nested array to retain per key), and
    /// where each starts and ends.
    private let nameBytes: [UInt8]
    private let nameStarts: [Int]
    private let nameEnds: [Int]
    /// The first slot whose name has a key's length (index 64: any longer), then the next slot
    /// of that bucket: a key is compared with the names of its length only.
    private let firstOfLength: [Int]
    private let nextOfLength: [Int]
    /// The fields of the last record ``scan(_:_:)`` accepted.
    private(set) var view: JSONRecordView
    private static let maximumDepth = 64
    /// 10^0 ... 10^22, exactly representable as doubles.
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// A scanner reading `fields` (the view's slots, in this order).
    init(fields: [String]) {
        let names = fields.map { Array($0.utf8) }
        nameBytes = names.flatMap { $0 }
        nameEnds = names.indices.map { slot in names[...slot].reduce(0) { $0 + $1.count } }
        nameStarts = names.indices.map { slot in names[..<slot].reduce(0) { $0 + $1.count } }
        var first = Array(repeating: -1, count: 65)
        var next = Array(repeating: -1, count: names.count)
        for slot in names.indices.reversed() {
            let bucket = min(names[slot].count, 64)
            next[slot] = first[bucket]
            first[bucket] = slot
        }
        firstOfLength = first
        nextOfLength = next
        view = JSONRecordView(fieldCount: fields.count)
    }

    /// Scans the JSON text `bytes[range]`; `true` when it is a record the view now holds,
    /// `false` when the text must go to ``JSONParser`` (malformed, or written unusually).
    mutating func scan(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        for slot in view.slots.indices { view.slots[slot].kind = .missing }
        view.bytes = bytes
        var cursor = Cursor(bytes: bytes, position: range.lowerBound, end: min(range.upperBound, bytes.count))
        guard cursor.skipWhitespace(), cursor.take(UInt8(ascii: "{")) else { return false }
        guard cursor.skipWhitespace() else { return false }
        if !cursor.take(UInt8(ascii: "}")) {
            while true {
                guard let key = cursor.plainString() else { return false }
                guard cursor.skipWhitespace(), cursor.take(UInt8(ascii: ":")), cursor.skipWhitespace() else { return false }
                if let slot = slot(of: key, in: bytes) {
                    guard read(&cursor, into: slot) else { return false }
                } else {
                    guard cursor.skipValue(depth: 1, maximum: Self.maximumDepth) else { return false }
                }
                guard cursor.skipWhitespace() else { return false }
                if cursor.take(UInt8(ascii: ",")) {
                    guard cursor.skipWhitespace() else { return false }
                } else if cursor.take(UInt8(ascii: "}")) {
                    break
                } else {
                    return false
                }
            }
        }
        _ = cursor.skipWhitespace()
        return cursor.position == cursor.end
    }

    /// Lets go of the read buffer (so that the reader refills it in place, not as a copy).
    mutating func release() { view.bytes = [] }

    private func slot(of key: Range<Int>, in bytes: [UInt8]) -> Int? {
        let count = key.count
        var slot = firstOfLength[min(count, 64)]
        while slot >= 0 {
            let start = nameStarts[slot]
            if nameEnds[slot] - start == count {
                var index = 0
                while index < count, nameBytes[start + index] == bytes[key.lowerBound + index] { index += 1 }
                if index == count { return slot }
            }
            slot = nextOfLength[slot]
        }
        return nil
    }

    /// Reads the value at the cursor into `slot` (a repeated key: the last value wins, as the parser's).
    private mutating func read(_ cursor: inout Cursor, into slot: Int) -> Bool {
        guard cursor.position < cursor.end else { return false }
        let first = cursor.bytes[cursor.position]
        let start = cursor.position
        switch first {
        case UInt8(ascii: "\""):
            guard let plain = cursor.scanString() else { return false }
            if plain.isPlainASCII {
                view.slots[slot].kind = .asciiString
                view.slots[slot].start = start + 1
                view.slots[slot].end = cursor.position - 1
                return true
            }
            return decode(start..<cursor.position, into: slot)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard cursor.skipValue(depth: 1, maximum: Self.maximumDepth) else { return false }
            return decode(start..<cursor.position, into: slot)
        case UInt8(ascii: "t"):
            guard cursor.take(literal: "true") else { return false }
            view.slots[slot].kind = .trueValue
        case UInt8(ascii: "f"):
            guard cursor.take(literal: "false") else { return false }
            view.slots[slot].kind = .falseValue
        case UInt8(ascii: "n"):
            guard cursor.take(literal: "null") else { return false }
            view.slots[slot].kind = .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard let number = cursor.scanNumber() else { return false }
            return store(number, text: start..<cursor.position, into: slot)
        default:
            return false  // NaN, Infinity: the parser reads them
        }
        return true
    }

    /// A string with escapes or non-ASCII bytes, an object or an array: parsed as the parser
    /// parses it (which also refuses what it refuses: bad UTF-8, lone surrogates).
    private mutating func decode(_ text: Range<Int>, into slot: Int) -> Bool {
        guard let value = try? JSONParser.parse(view.bytes, in: text) else { return false }
        view.slots[slot].kind = .decoded
        view.materialized[slot] = value
        return true
    }

    /// A number's value as the parser's (`Int` when it is written as an integer and fits, else the
    /// correctly rounded `Double`): exact arithmetic where it is exact, the parser's conversion
    /// otherwise.
    private mutating func store(_ number: Cursor.Number, text: Range<Int>, into slot: Int) -> Bool {
        if number.isInteger, number.digits <= 18 {
            view.slots[slot].kind = .integer
            view.slots[slot].integer = number.negative ? -Int(number.mantissa) : Int(number.mantissa)
            return true
        }
        if !number.isInteger, number.digits <= 15, abs(number.exponent) <= 22 {
            // Both operands are exact doubles, so one IEEE operation rounds correctly.
            let magnitude = Double(number.mantissa)
            let scaled =
                number.exponent < 0
                ? magnitude / Self.powersOfTen[-number.exponent] : magnitude * Self.powersOfTen[number.exponent]
            view.slots[slot].kind = .double
            view.slots[slot].double = number.negative ? -scaled : scaled
            return true
        }
        let string = String(decoding: view.bytes[text], as: UTF8.self)
        if number.isInteger, let integer = Int(string) {
            view.slots[slot].kind = .integer
            view.slots[slot].integer = integer
            return true
        }
        guard let double = Double(string) else { return false }
        view.slots[slot].kind = .double
        view.slots[slot].double = double
        return true
    }
}

/// A position in one record's bytes; every step returns `false`/`nil` for what the fast path
/// does not read.
private struct Cursor {
    let bytes: [UInt8]
    var position: Int
    let end: Int

    /// Skips JSON whitespace; `false` at the end of the text.
    mutating func skipWhitespace() -> Bool {
        var index = position
        while index < end {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default:
                position = index
                return true
            }
        }
        position = index
        return false
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard position < end, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    mutating func take(literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard end - position >= count else { return false }
        let matched = literal.withUTF8Buffer { word in
            var index = 0
            while index < count, bytes[position + index] == word[index] { index += 1 }
            return index == count
        }
        if matched { position += count }
        return matched
    }

    /// A string without escapes at the cursor (a key): its contents' range, the cursor past it.
    mutating func plainString() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = position
        var index = start
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return start..<index
            }
            if byte == UInt8(ascii: "\\") { return nil }
            index += 1
        }
        return nil
    }

    struct StringShape {
        var isPlainASCII: Bool
    }

    /// Moves past the string at the cursor, checking its escapes as the parser's skip does.
    mutating func scanString() -> StringShape? {
        var index = position + 1
        var plain = true
        while index < end {
            // The common bytes first, in a tight loop.
            var byte = bytes[index]
            while byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte < 0x80 {
                index += 1
                guard index < end else { return nil }
                byte = bytes[index]
            }
            index += 1
            if byte == UInt8(ascii: "\"") {
                position = index
                return StringShape(isPlainASCII: plain)
            }
            plain = false
            guard byte == UInt8(ascii: "\\") else { continue }
            guard index < end else { return nil }
            let escape = bytes[index]
            index += 1
            if JSONParser.isSingleCharacterEscape(escape) { continue }
            guard escape == UInt8(ascii: "u"), end - index >= 4 else { return nil }
            for _ in 0..<4 {
                guard bytes[index].isHexDigit else { return nil }
                index += 1
            }
        }
        return nil
    }

    /// A strict JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    struct Number {
        var negative = false
        var isInteger = true
        /// The significant digits, while there are at most 19 of them.
        var mantissa: UInt64 = 0
        /// How many digits the mantissa has (more than 19: it is not used).
        var digits = 0
        /// The power of ten that scales the mantissa (bounded: a larger one is not used).
        var exponent = 0
    }

    mutating func scanNumber() -> Number? {
        var number = Number()
        if bytes[position] == UInt8(ascii: "-") {
            number.negative = true
            position += 1
        }
        func digit() -> UInt8? {
            guard position < end else { return nil }
            let value = bytes[position] &- UInt8(ascii: "0")
            return value < 10 ? value : nil
        }
        func append(_ value: UInt8) {
            if number.digits < 19 { number.mantissa = number.mantissa * 10 + UInt64(value) }
            number.digits += 1
        }
        guard let leading = digit() else { return nil }
        position += 1
        if leading != 0 {
            append(leading)
            while let next = digit() {
                append(next)
                position += 1
            }
        }
        if position < end, bytes[position] == UInt8(ascii: ".") {
            number.isInteger = false
            position += 1
            guard digit() != nil else { return nil }
            while let next = digit() {
                if number.mantissa != 0 || next != 0 { append(next) }
                number.exponent -= 1
                position += 1
            }
        }
        if position < end, bytes[position] | 0x20 == UInt8(ascii: "e") {
            number.isInteger = false
            position += 1
            var negativeExponent = false
            if position < end, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                negativeExponent = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            guard digit() != nil else { return nil }
            var written = 0
            while let next = digit() {
                if written < 10_000 { written = written * 10 + Int(next) }
                position += 1
            }
            number.exponent += negativeExponent ? -written : written
        }
        return number
    }

    /// Moves past one value, checking it as the parser's skip does; `false` for what the fast
    /// path leaves to the parser (escaped keys in nested objects, `NaN`, nesting past `maximum`).
    mutating func skipValue(depth: Int, maximum: Int) -> Bool {
        guard position < end else { return false }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            return scanString() != nil
        case UInt8(ascii: "t"): return take(literal: "true")
        case UInt8(ascii: "f"): return take(literal: "false")
        case UInt8(ascii: "n"): return take(literal: "null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return scanNumber() != nil
        case UInt8(ascii: "{"):
            guard depth < maximum else { return false }
            position += 1
            guard skipWhitespace() else { return false }
            if take(UInt8(ascii: "}")) { return true }
            while true {
                guard plainString() != nil, skipWhitespace(), take(UInt8(ascii: ":")), skipWhitespace(),
                    skipValue(depth: depth + 1, maximum: maximum), skipWhitespace()
                else { return false }
                if take(UInt8(ascii: "}")) { return true }
                guard take(UInt8(ascii: ",")), skipWhitespace() else { return false }
            }
        case UInt8(ascii: "["):
            guard depth < maximum else { return false }
            position += 1
            guard skipWhitespace() else { return false }
            if take(UInt8(ascii: "]")) { return true }
            while true {
                guard skipValue(depth: depth + 1, maximum: maximum), skipWhitespace() else { return false }
                if take(UInt8(ascii: "]")) { return true }
                guard take(UInt8(ascii: ",")), skipWhitespace() else { return false }
            }
        default:
            return false
        }
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self | 0x20)
    }
}
