/// Text from Redis, a worker or a producer made safe for a terminal: control characters (a
/// forged `exc_type` could carry escape sequences that rewrite the screen or the title, a task
/// name raw newlines that fake output lines, a server error NULs) are shown as escapes.
public enum TerminalText {
    /// `text` with every control character except tab (C0, DEL, C1, and newlines unless
    /// `keepNewlines`) written as `\n`, `\r`, `\e` or `\u{XX}`.
    public static func safe(_ text: String, keepNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0, keepNewlines: keepNewlines) }) else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            guard isControl(scalar, keepNewlines: keepNewlines) else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\u{1B}": result += "\\e"
            default: result += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar, keepNewlines: Bool) -> Bool {
        switch scalar.value {
        case 0x09: return false
        case 0x0A: return !keepNewlines
        case 0x00...0x1F, 0x7F...0x9F: return true
        default: return false
        }
    }
}
