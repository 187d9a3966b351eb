/// Writes JSON as Python's `json.dumps` does (`", "`/`": "` separators, `ensure_ascii`), and Python
/// `repr` text for `argsrepr`/`kwargsrepr`.
enum JSONWriter {
    // Bytes are appended one by one where they are few: a two-byte `append(contentsOf:)` costs a
    // call and a copy loop, which showed at the top of the publish path's profile.

    static func write(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: appendNull(to: &output)
        case .bool(let flag):
            if flag {
                output.append(UInt8(ascii: "t"))
                output.append(UInt8(ascii: "r"))
                output.append(UInt8(ascii: "u"))
                output.append(UInt8(ascii: "e"))
            } else {
                output.append(UInt8(ascii: "f"))
                output.append(UInt8(ascii: "a"))
                output.append(UInt8(ascii: "l"))
                output.append(UInt8(ascii: "s"))
                output.append(UInt8(ascii: "e"))
            }
        case .integer(let number): writeInteger(number, to: &output)
        case .double(let number): output.append(contentsOf: pythonFloat(number, json: true).utf8)
        case .string(let text): writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for index in elements.indices {
                if index > 0 { appendSeparator(to: &output) }
                write(elements[index], to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            writeObject(object, to: &output)
        }
    }

    static func writeObject(_ object: JSONObject, to output: inout [UInt8]) {
        if let layout = object.layout, !object.isEmpty {
            let values = object.values
            for index in values.indices {
                layout.appendPrefix(index, to: &output)
                write(values[index], to: &output)
            }
            output.append(UInt8(ascii: "}"))
            return
        }
        output.append(UInt8(ascii: "{"))
        let keys = object.keys
        let values = object.values
        for index in keys.indices {
            if index > 0 { appendSeparator(to: &output) }
            writeString(keys[index], to: &output)
            output.append(UInt8(ascii: ":"))
            output.append(UInt8(ascii: " "))
            write(values[index], to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }

    @inline(__always) private static func appendSeparator(to output: inout [UInt8]) {
        output.append(UInt8(ascii: ","))
        output.append(UInt8(ascii: " "))
    }

    @inline(__always) private static func appendNull(to output: inout [UInt8]) {
        output.append(UInt8(ascii: "n"))
        output.append(UInt8(ascii: "u"))
        output.append(UInt8(ascii: "l"))
        output.append(UInt8(ascii: "l"))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeInteger(_ number: Int, to output: inout [UInt8]) {
        if number >= 0 && number < 10 {
            output.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: number))
            return
        }
        if number == .min {
            output.append(contentsOf: String(number).utf8)
            return
        }
        if number < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        let start = output.count
        while magnitude > 0 {
            output.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        }
        output[start...].reverse()
    }

    /// Copies plain printable ASCII as it is; escapes the rest as Python's `ensure_ascii`.
    static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        // Almost every string is plain ASCII (ids, names, keys): one scan of its bytes in place
        // (read as a collection), one copy.
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for byte in bytes where byte < 0x20 || byte >= 0x7F || byte == 0x22 || byte == 0x5C { return false }
            output.append(contentsOf: bytes)
            return true
        }
        if plain != true {
            for scalar in text.unicodeScalars {
                if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "\\" {
                    output.append(UInt8(truncatingIfNeeded: scalar.value))
                } else {
                    for unit in scalar.utf16 { writeEscaped(unit, to: &output) }
                }
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func writeEscaped(_ unit: UInt16, to output: inout [UInt8]) {
        switch unit {
        case 0x22: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
        case 0x5C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        default:
            output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u")])
            for shift in stride(from: 12, through: 0, by: -4) {
                output.append(hexDigits[Int((unit >> UInt16(shift)) & 0xF)])
            }
        }
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
