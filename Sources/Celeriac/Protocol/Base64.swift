/// Standard, padded base64 written straight into a byte buffer (message bodies on the publish path,
/// where going through `Data` and `String` cost more than the encoding itself).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func append(_ bytes: [UInt8], to output: inout [UInt8]) {
        output.reserveCapacity(output.count + (bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            output.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            let chunk = UInt32(bytes[index]) << 16 | (remaining == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(remaining == 2 ? alphabet[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
    }

    /// The value of each alphabet byte, 0xFF for bytes outside the alphabet.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    /// Decodes standard, padded base64 (what kombu writes), or returns nil for anything else:
    /// a length that is not a multiple of 4, a byte outside the alphabet, misplaced padding.
    /// Accepts what `Data(base64Encoded:)` accepts, without going through `Data`.
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(text)
        guard input.count % 4 == 0 else { return nil }
        var padding = 0
        if input.last == UInt8(ascii: "=") {
            padding = input[input.count - 2] == UInt8(ascii: "=") ? 2 : 1
        }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let first = values[Int(input[index])]
            let second = values[Int(input[index + 1])]
            let third = isLast && padding == 2 ? 0 : values[Int(input[index + 2])]
            let fourth = isLast && padding >= 1 ? 0 : values[Int(input[index + 3])]
            guard first | second | third | fourth < 64 else { return nil }  // 0xFF: not in the alphabet
            let chunk = UInt32(first) << 18 | UInt32(second) << 12 | UInt32(third) << 6 | UInt32(fourth)
            output.append(UInt8(truncatingIfNeeded: chunk >> 16))
            if !(isLast && padding == 2) { output.append(UInt8(truncatingIfNeeded: chunk >> 8)) }
            if !(isLast && padding >= 1) { output.append(UInt8(truncatingIfNeeded: chunk)) }
            index += 4
        }
        return output
    }
}
