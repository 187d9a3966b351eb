/// A JSON reader that keeps object key order and tells integers from floats.
///
/// Foundation's `JSONSerialization` loses both (it returns unordered dictionaries and `NSNumber`),
/// and message headers must be written back as they came.
struct JSONParser {
    private let bytes: [UInt8]
    /// Where the text starts and ends in `bytes` (a line of a larger buffer, or all of it).
    private let start: Int
    private let end: Int
    private var position: Int
    private var depth = 0
    private static let maximumDepth = 512
    /// How many key layouts ``parseRecord(_:in:layouts:)`` keeps.
    static let recentLayouts = 8

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try parse(bytes, in: bytes.indices)
    }

    /// Parses the JSON text in `bytes[range]` (a line of a dataset's read buffer: no copy).
    static func parse(_ bytes: [UInt8], in range: Range<Int>) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, range: range)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        try parser.expectEnd()
        return value
    }

    /// Parses one record of a dataset: like ``parse(_:in:)``, but an object whose keys are those of
    /// a recent record (same bytes, same order: the common case of JSON Lines) shares that
    /// record's layout instead of building its key list again. The newest ``recentLayouts``
    /// sets of keys are kept in `layouts`.
    ///
    /// With `keep`, only those top-level members are built; the others are checked as strictly
    /// as a full parse (a malformed line is refused either way) but never allocated.
    static func parseRecord(
        _ bytes: [UInt8], in range: Range<Int>, layouts: inout [JSONKeyLayout], keep: JSONFieldFilter? = nil
    ) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, range: range)
        parser.skipWhitespace()
        guard parser.position < parser.end, bytes[parser.position] == UInt8(ascii: "{") else {
            let value = try parser.parseValue()
            try parser.expectEnd()
            return value
        }
        var keys: [String] = []
        var values: [JSONValue] = []
        keys.reserveCapacity(layouts.first?.keys.count ?? 8)
        values.reserveCapacity(layouts.first?.keys.count ?? 8)
        try parser.parseMembers(keep: keep) {
            keys.append($0)
            values.append($1)
        }
        try parser.expectEnd()
        if let index = layouts.firstIndex(where: { layout in
            layout.keys.count == keys.count && zip(layout.keys, keys).allSatisfy { $0.utf8.elementsEqual($1.utf8) }
        }) {
            return .object(JSONObject(layout: layouts[index], values: values))
        }
        if Set(keys.map { Array($0.utf8) }).count == keys.count {
            let fresh = JSONKeyLayout(keys)
            layouts.insert(fresh, at: 0)
            if layouts.count > recentLayouts { layouts.removeLast() }
            return .object(JSONObject(layout: fresh, values: values))
        }
        return .object(JSONObject(zip(keys, values)))  // a repeated key keeps its last value
    }

    private init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.start = range.lowerBound
        self.end = min(range.upperBound, bytes.count)
        self.position = range.lowerBound
    }

    private mutating func expectEnd() throws {
        skipWhitespace()
        guard position == end else { throw error("unexpected data after the JSON value") }
    }

    private func error(_ reason: String, at offset: Int? = nil) -> CeleryProtocolError {
        CeleryProtocolError(.invalidJSON, "invalid JSON at byte \((offset ?? position) - start): \(reason)")
    }

    private mutating func skipWhitespace() {
        while position < end {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws -> JSONValue {
        guard position < end else { throw error("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "N"): return try parseLiteral("NaN", .double(.nan))
        case UInt8(ascii: "I"): return try parseLiteral("Infinity", .double(.infinity))
        case UInt8(ascii: "-") where position + 1 < end && bytes[position + 1] == UInt8(ascii: "I"):
            position += 1
            return try parseLiteral("Infinity", .double(-.infinity))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Unicode.Scalar(bytes[position]))'")
        }
    }

    private mutating func parseLiteral(_ word: String, _ value: JSONValue) throws -> JSONValue {
        for expected in word.utf8 {
            guard position < end, bytes[position] == expected else { throw error("expected '\(word)'") }
            position += 1
        }
        return value
    }

    private mutating func enter() throws {
        depth += 1
        if depth > JSONParser.maximumDepth { throw error("nested deeper than \(JSONParser.maximumDepth) levels") }
    }

    private mutating func parseObject() throws -> JSONValue {
        var object = JSONObject()
        try parseMembers { object[$0] = $1 }
        return .object(object)
    }

    /// Reads an object's members in order, handing each to `member` (only those in `keep`, when
    /// given; the others are skipped).
    private mutating func parseMembers(keep: JSONFieldFilter? = nil, _ member: (String, JSONValue) -> Void) throws {
        try enter()
        defer { depth -= 1 }
        position += 1
        skipWhitespace()
        if position < end, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            guard position < end, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a key") }
            // With a filter, a key without escapes is matched on its bytes: the String of a
            // skipped key is never made.
            var skipped = false
            var key = ""
            if let keep, let (raw, isASCII) = plainStringRange() {
                if keep.matches(bytes, raw) {
                    key = try text(raw, isASCII: isASCII)
                } else {
                    skipped = true
                }
            } else {
                key = try parseString()
                skipped = keep.map { !$0.names.contains(key) } ?? false
            }
            skipWhitespace()
            guard position < end, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            if skipped {
                try skipValue()
            } else {
                member(key, try parseValue())
            }
            skipWhitespace()
            guard position < end else { throw error("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return
            } else {
                throw error("expected ',' or '}'")
            }
        }
    }

    /// Checks one value as ``parseValue()`` would, without building it: strings are scanned (their
    /// escapes checked), not decoded.
    private mutating func skipValue() throws {
        guard position < end else { throw error("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"):
            // A filter that keeps nothing: every member is skipped, every key only scanned.
            try parseMembers(keep: JSONFieldFilter.nothing) { _, _ in }
        case UInt8(ascii: "["):
            try forEachElement { try $0.skipValue() }
        default:
            // Literals and numbers allocate nothing: parsed as usual and dropped.
            _ = try parseValue()
        }
    }

    /// The contents of the string at `position` when it has no escapes (moving past it), else
    /// `nil` with `position` unchanged.
    private mutating func plainStringRange() -> (range: Range<Int>, isASCII: Bool)? {
        var index = position + 1
        var isASCII = true
        while index < end {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                let range = (position + 1)..<index
                position = index + 1
                return (range, isASCII)
            case UInt8(ascii: "\\"):
                return nil
            case let byte:
                if byte >= 0x80 { isASCII = false }
                index += 1
            }
        }
        return nil
    }

    /// Scans a string as ``parseString()`` reads it, refusing what it refuses.
    private mutating func skipString() throws {
        position += 1  // opening quote
        while position < end {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "\"") { return }
            guard byte == UInt8(ascii: "\\") else { continue }
            guard position < end else { throw error("unterminated escape") }
            let escape = bytes[position]
            position += 1
            if Self.isSingleCharacterEscape(escape) { continue }
            guard escape == UInt8(ascii: "u") else { throw error("invalid escape '\\\(Unicode.Scalar(escape))'") }
            _ = try parseHex4()
        }
        throw error("unterminated string")
    }

    /// Whether `\` and `byte` is one of JSON's escapes of one character (`\"`, `\n`, ...; `\u`
    /// takes four hex digits more).
    static func isSingleCharacterEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            true
        default: false
        }
    }

    private mutating func parseArray() throws -> JSONValue {
        var elements: [JSONValue] = []
        try forEachElement { elements.append(try $0.parseValue()) }
        return .array(elements)
    }

    /// Reads an array's elements in order with `element` (which parses or skips one value).
    private mutating func forEachElement(_ element: (inout JSONParser) throws -> Void) throws {
        try enter()
        defer { depth -= 1 }
        position += 1
        skipWhitespace()
        if position < end, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            guard position < end else { throw error("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return
            } else {
                throw error("expected ',' or ']'")
            }
        }
    }

    /// The string of `range`, which must be valid UTF-8: replacing bad bytes with U+FFFD (as
    /// `String(decoding:)` does) would hand a task arguments other than those sent.
    /// A string the scan found to be ASCII (the common case) is valid as it stands.
    private func text(_ range: Range<Int>, isASCII: Bool) throws -> String {
        if isASCII { return String(decoding: bytes[range], as: UTF8.self) }
        guard let string = String(validating: bytes[range], as: UTF8.self) else {
            throw error("a string holds bytes that are not UTF-8", at: range.lowerBound)
        }
        return string
    }

    private mutating func parseString() throws -> String {
        position += 1  // opening quote
        // Most strings have no escapes: made from their bytes in place.
        let start = position
        var isASCII = true
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return try text(start..<position - 1, isASCII: isASCII)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte >= 0x80 { isASCII = false }
            position += 1
        }
        var utf8 = Array(bytes[start..<position])
        while true {
            guard position < end else { throw error("unterminated string") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: utf8, as: UTF8.self) else {
                    throw error("a string holds bytes that are not UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                guard position < end else { throw error("unterminated escape") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: try parseUnicodeEscape())
                default: throw error("invalid escape '\\\(Unicode.Scalar(escape))'")
                }
            default:
                utf8.append(byte)
            }
        }
    }

    /// `\uXXXX` (after the `\u`), joining surrogate pairs. A lone surrogate is refused: it is no
    /// Unicode character, and U+FFFD in its place would be data other than what was sent.
    private mutating func parseUnicodeEscape() throws -> [UInt8] {
        var scalarValue = try parseHex4()
        if (0xD800...0xDBFF).contains(scalarValue), position + 6 <= end,
            bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
        {
            let saved = position
            position += 2
            let low = try parseHex4()
            if (0xDC00...0xDFFF).contains(low) {
                scalarValue = 0x10000 + ((scalarValue - 0xD800) << 10) + (low - 0xDC00)
            } else {
                position = saved
            }
        }
        guard let scalar = Unicode.Scalar(scalarValue) else { throw error("a lone surrogate \\u escape is not a character") }
        return Array(String(Character(scalar)).utf8)
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= end else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        while position < end {
            let byte = bytes[position]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                position += 1
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
            {
                isInteger = false
                position += 1
            } else {
                break
            }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let integer = Int(text) { return .integer(integer) }
        guard let double = Double(text) else { throw error("invalid number '\(text)'") }
        return .double(double)
    }
}
