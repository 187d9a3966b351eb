/// Writes JSON as Python's `json.dumps` does (`", "`/`": "` separators, `ensure_ascii`), and Python
/// `repr` text for `argsrepr`/`kwargsrepr`.
enum JSONWriter {
    static func write(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number): output.append(contentsOf: pythonFloat(number, json: true).utf8)
        case .string(let text): writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (index, (key, member)) in zip(object.keys, object.values).enumerated() {
                if index > 0 { output.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                writeString(key, to: &output)
                output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                write(member, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for unit in text.utf16 {
            switch unit {
            case 0x22: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case 0x5C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x20..<0x7F: output.append(UInt8(unit))
            default:
                output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
                for shift in stride(from: 12, through: 0, by: -4) {
                    output.append(hexDigits[Int((unit >> UInt16(shift)) & 0xF)])
                }
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Python's `repr(float)` (which `json.dumps` also uses); Swift's shortest round-trip
    /// description matches it, apart from the names of the special values.
    private static func pythonFloat(_ number: Double, json: Bool) -> String {
        if number.isNaN { return json ? "NaN" : "nan" }
        if number.isInfinite { return number < 0 ? (json ? "-Infinity" : "-inf") : (json ? "Infinity" : "inf") }
        return number.description
    }

    // MARK: Python repr

    static func writeRepr(_ value: JSONValue, to output: inout String) {
        switch value {
        case .null: output += "None"
        case .bool(let flag): output += flag ? "True" : "False"
        case .integer(let number): output += String(number)
        case .double(let number): output += pythonFloat(number, json: false)
        case .string(let text): writeReprString(text, to: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += ", " }
                writeRepr(element, to: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            for (index, (key, member)) in zip(object.keys, object.values).enumerated() {
                if index > 0 { output += ", " }
                writeReprString(key, to: &output)
                output += ": "
                writeRepr(member, to: &output)
            }
            output += "}"
        }
    }

    /// Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
    private static func writeReprString(_ text: String, to output: inout String) {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        output.append(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where Character(scalar) == quote: output += "\\" + String(quote)
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                output += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            default: output.unicodeScalars.append(scalar)
            }
        }
        output.append(quote)
    }
}
