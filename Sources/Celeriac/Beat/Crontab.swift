import Foundation

/// A five-field cron expression (`minute hour day-of-month month day-of-week`) and its next run
/// times in a time zone.
///
/// Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n` (and `a/n`: from a to the end),
/// lists `a,b-c`, month names `jan`-`dec` and day names `sun`-`sat` (0 and 7 are Sunday). Aliases:
/// `@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`). As in cron,
/// when both day fields are restricted a day matches if either does.
///
/// Daylight saving time: a run whose local time does not exist (the hour skipped in spring) runs at
/// the instant the clocks jump, once. A local time that occurs twice (autumn) runs once, at its
/// first occurrence, unless the hour field is `*`, in which case both hours run (an every-15-minutes
/// job keeps its pace). Neither a skipped nor a doubled run.
public struct Crontab: Sendable, Hashable, CustomStringConvertible {
    /// The minutes (0-59) it runs at.
    public let minutes: Set<Int>
    /// The hours (0-23) it runs at.
    public let hours: Set<Int>
    /// The days of the month (1-31) it runs on.
    public let daysOfMonth: Set<Int>
    /// The months (1-12) it runs in.
    public let months: Set<Int>
    /// 0 = Sunday ... 6 = Saturday.
    public let daysOfWeek: Set<Int>
    /// The expression as written.
    public let expression: String
    private let dayOfMonthIsRestricted: Bool
    private let dayOfWeekIsRestricted: Bool
    private let everyHour: Bool

    private static let aliases = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    ]
    private static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Parses a cron expression.
    /// - Throws: ``CeleriacError`` `invalidConfiguration` naming the field and what is wrong.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let expanded = Self.aliases[trimmed.lowercased()] ?? trimmed
        if expanded.hasPrefix("@") {
            throw CeleriacError(
                .invalidConfiguration,
                "unknown cron alias '\(trimmed)'; use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually")
        }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw CeleriacError(
                .invalidConfiguration,
                "cron expression '\(trimmed)' has \(fields.count) fields; it needs 5: minute hour day-of-month month day-of-week")
        }
        minutes = try Self.parseField(fields[0], name: "minute", range: 0...59, names: [])
        hours = try Self.parseField(fields[1], name: "hour", range: 0...23, names: [])
        daysOfMonth = try Self.parseField(fields[2], name: "day-of-month", range: 1...31, names: [])
        months = try Self.parseField(fields[3], name: "month", range: 1...12, names: Self.monthNames, firstNameValue: 1)
        let weekdays = try Self.parseField(fields[4], name: "day-of-week", range: 0...7, names: Self.dayNames)
        daysOfWeek = Set(weekdays.map { $0 % 7 })
        dayOfMonthIsRestricted = !fields[2].hasPrefix("*")
        dayOfWeekIsRestricted = !fields[4].hasPrefix("*")
        everyHour = hours.count == 24
        expression = trimmed
    }

    public var description: String { expression }

    /// Equal when the fields allow the same times (`@weekly` equals `0 0 * * 0`).
    public static func == (lhs: Crontab, rhs: Crontab) -> Bool {
        lhs.minutes == rhs.minutes && lhs.hours == rhs.hours && lhs.daysOfMonth == rhs.daysOfMonth
            && lhs.months == rhs.months && lhs.daysOfWeek == rhs.daysOfWeek
            && lhs.dayOfMonthIsRestricted == rhs.dayOfMonthIsRestricted
            && lhs.dayOfWeekIsRestricted == rhs.dayOfWeekIsRestricted
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(minutes)
        hasher.combine(hours)
        hasher.combine(daysOfMonth)
        hasher.combine(months)
        hasher.combine(daysOfWeek)
    }

    private static func parseField(
        _ field: String, name: String, range: ClosedRange<Int>, names: [String], firstNameValue: Int = 0
    ) throws -> Set<Int> {
        func fail(_ why: String) -> CeleriacError {
            CeleriacError(.invalidConfiguration, "cron \(name) field '\(field)': \(why)")
        }
        func value(_ text: String) throws -> Int {
            if let number = Int(text) {
                guard range.contains(number) else { throw fail("\(number) is outside \(range.lowerBound)-\(range.upperBound)") }
                return number
            }
            if let index = names.firstIndex(of: text.lowercased()) { return index + firstNameValue }
            throw fail("'\(text)' is not a number\(names.isEmpty ? "" : " or a name (\(names.first ?? "")...)")")
        }
        var values = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !part.isEmpty else { throw fail("an empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2 else { throw fail("more than one '/' in '\(part)'") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw fail("the step '\(pieces[1])' is not a positive number") }
                step = parsed
            }
            let base = pieces[0]
            var lower: Int
            var upper: Int
            if base == "*" {
                (lower, upper) = (range.lowerBound, name == "day-of-week" ? 6 : range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                lower = try value(String(base[..<dash]))
                upper = try value(String(base[base.index(after: dash)...]))
                guard lower <= upper else { throw fail("the range \(lower)-\(upper) runs backwards") }
            } else {
                lower = try value(base)
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            values.formUnion(stride(from: lower, through: upper, by: step))
        }
        return values
    }

    /// Whether the local calendar day matches the day fields.
    private func matches(day: Int, month: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        let dayOfMonth = daysOfMonth.contains(day)
        let dayOfWeek = daysOfWeek.contains(weekday)
        switch (dayOfMonthIsRestricted, dayOfWeekIsRestricted) {
        case (true, true): return dayOfMonth || dayOfWeek
        case (true, false): return dayOfMonth
        case (false, true): return dayOfWeek
        case (false, false): return true
        }
    }

    /// The first run strictly after `date`, in `timeZone`; `nil` if none within eight years (e.g.
    /// `0 0 30 2 *`).
    public func nextRun(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? timeZone
        let sortedHours = hours.sorted()
        let sortedMinutes = minutes.sorted()
        // Walk local calendar days from the day before (DST can move a run across midnight).
        let localStart = date.addingTimeInterval(Double(timeZone.secondsFromGMT(for: date)))
        guard
            var day = calendar.date(from: calendar.dateComponents([.year, .month, .day], from: localStart))?
                .addingTimeInterval(-86_400)
        else { return nil }
        var best: Date?
        for _ in 0..<(366 * 8 + 2) {
            let parts = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
            if let dayNumber = parts.day, let month = parts.month, let weekday = parts.weekday,
                matches(day: dayNumber, month: month, weekday: weekday - 1)
            {
                for hour in sortedHours {
                    for minute in sortedMinutes {
                        let naive = day.timeIntervalSince1970 + Double(hour * 3600 + minute * 60)
                        // Far before `date` even with any DST offset: skip the time-zone lookups.
                        if naive < localStart.timeIntervalSince1970 - 3 * 3600 { continue }
                        for instant in instants(ofLocal: naive, in: timeZone) where instant > date {
                            if best.map({ instant < $0 }) ?? true { best = instant }
                        }
                    }
                }
            }
            // Runs of later days are later, by more than any DST shift: stop after a day with one.
            if let best, day.timeIntervalSince1970 - 86_400 > best.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: best)) {
                return best
            }
            day = day.addingTimeInterval(86_400)
        }
        return best
    }

    /// The instants at which the local wall-clock time `naive` (seconds since 1970 as if local
    /// were UTC) occurs: one normally; in a skipped hour, the instant the clocks jump; in a repeated
    /// hour, the first occurrence (both when the hour field is `*`).
    private func instants(ofLocal naive: Double, in timeZone: TimeZone) -> [Date] {
        let offsets = Set([
            timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: naive - 86_400)),
            timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: naive + 86_400)),
        ])
        let matches = offsets.map { Date(timeIntervalSince1970: naive - Double($0)) }
            .filter { Double(timeZone.secondsFromGMT(for: $0)) + $0.timeIntervalSince1970 == naive }
            .sorted()
        if matches.isEmpty {
            // Skipped by a jump forward: run when the clocks jump.
            let before = Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: naive - 86_400)))
            let guess = Date(timeIntervalSince1970: naive - before - 86_400)
            return timeZone.nextDaylightSavingTimeTransition(after: guess).map { [$0] } ?? []
        }
        return everyHour ? matches : [matches[0]]
    }
}
