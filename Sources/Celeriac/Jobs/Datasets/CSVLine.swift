import Foundation

/// One CSV line split into fields (RFC 4180 quoting within the line: `"a, b"`, `""` for a quote).
/// Fields holding line breaks are not supported: partitions split at line starts.
enum CSVLine {
    /// The fields of `line`, or `nil` when a quote is left open.
    static func fields(_ line: ArraySlice<UInt8>, separator: UInt8 = UInt8(ascii: ",")) -> [String]? {
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var index = line.startIndex
        while index < line.endIndex {
            let byte = line[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < line.endIndex, line[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == separator {
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
            } else if byte == UInt8(ascii: "\""), field.isEmpty {
                quoted = true
            } else {
                field.append(byte)
            }
            index += 1
        }
        guard !quoted else { return nil }
        fields.append(String(decoding: field, as: UTF8.self))
        return fields
    }

    /// A CSV field as JSON: empty is missing (`nil`), then integer, number, `true`/`false`, else text.
    static func value(_ text: String) -> JSONValue? {
        guard !text.isEmpty else { return nil }
        if let integer = Int(text) { return .integer(integer) }
        if let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: ".") || (first >= 0x30 && first <= 0x39),
            let number = Double(text), number.isFinite
        {
            return .double(number)
        }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        return .string(text)
    }

    /// Writes `value` as a CSV field, quoted when it must be.
    static func escape(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
