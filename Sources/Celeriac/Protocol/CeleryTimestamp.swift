import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Celery's ISO 8601 timestamps: `2026-11-22T15:25:06.242071+00:00` (UTC, microseconds, offset),
/// as in `eta`, `expires` and `date_done`.
public enum CeleryTimestamp {
    /// The range of times written: years 1 to 9999, as Python's `datetime` holds them.
    static let secondsSince1970 = -62_135_596_800.0...253_402_300_799.0

    /// Formats `date` in UTC with microseconds and `+00:00`, as Celery writes it. A date outside
    /// years 1–9999 (or not a number) is written as the nearest end of that range.
    public static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let held = interval.isNaN ? 0 : min(max(interval, secondsSince1970.lowerBound), secondsSince1970.upperBound)
        let totalMicroseconds = (held * 1_000_000).rounded()
        var seconds = time_t(floor(totalMicroseconds / 1_000_000))
        let microseconds = Int(totalMicroseconds - Double(seconds) * 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Written by hand: Foundation's String(format:) costs microseconds, and a worker formats a
        // `date_done` per task.
        var text = ""
        text.reserveCapacity(32)
        func append(_ value: Int, digits: Int) {
            let decimal = String(value)
            if decimal.count < digits { text += String(repeating: "0", count: digits - decimal.count) }
            text += decimal
        }
        append(Int(parts.tm_year) + 1900, digits: 4)
        text += "-"
        append(Int(parts.tm_mon) + 1, digits: 2)
        text += "-"
        append(Int(parts.tm_mday), digits: 2)
        text += "T"
        append(Int(parts.tm_hour), digits: 2)
        text += ":"
        append(Int(parts.tm_min), digits: 2)
        text += ":"
        append(Int(parts.tm_sec), digits: 2)
        text += "."
        append(microseconds, digits: 6)
        text += "+00:00"
        return text
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (a space may replace the `T`; no offset
    /// means UTC, as Celery assumes for naive times in UTC mode).
    /// - Throws: ``CeleryProtocolError`` with code `missingField` naming the text.
    public static func parse(_ text: String) throws -> Date {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 19, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else {
            throw CeleryProtocolError(.missingField, "'\(text)' is not an ISO 8601 timestamp")
        }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, bytes[index] >= 48 && bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                guard let hours = number(index + 1..<index + 3) else {
                    throw CeleryProtocolError(.missingField, "'\(text)' has a malformed UTC offset")
                }
                var minutesStart = index + 3
                if minutesStart < bytes.count, bytes[minutesStart] == UInt8(ascii: ":") { minutesStart += 1 }
                let minutes = number(minutesStart..<minutesStart + 2) ?? 0
                offsetSeconds = sign * (hours * 3600 + minutes * 60)
                index = minutesStart + (number(minutesStart..<minutesStart + 2) == nil ? 0 : 2)
            default:
                break
            }
        }
        guard index == bytes.count else {
            throw CeleryProtocolError(.missingField, "'\(text)' has unexpected text after the time")
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offsetSeconds) + fraction)
    }
}
