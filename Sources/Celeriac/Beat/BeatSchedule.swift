import Foundation

/// When a beat entry runs: every fixed period, or on a cron expression in a time zone.
public enum BeatTiming: Sendable, Hashable, CustomStringConvertible {
    /// Every period, on a grid anchored at the Unix epoch (so every replica agrees on the run
    /// times: `every 5m` runs at :00, :05, ... UTC).
    case every(Duration)
    /// On a cron expression, evaluated in a time zone.
    case cron(Crontab, TimeZone)

    /// The first run time strictly after `date`.
    public func nextRun(after date: Date) -> Date? {
        switch self {
        case .every(let period):
            let milliseconds = Self.milliseconds(period)
            guard milliseconds > 0 else { return nil }
            let seconds = date.timeIntervalSince1970
            guard CeleryTimestamp.secondsSince1970.contains(seconds) else { return nil }
            let now = Int64((seconds * 1000).rounded(.down))
            let (next, overflow) = (now / milliseconds + 1).multipliedReportingOverflow(by: milliseconds)
            guard !overflow else { return nil }
            return Date(timeIntervalSince1970: Double(next) / 1000)
        case .cron(let crontab, let timeZone):
            return crontab.nextRun(after: date, in: timeZone)
        }
    }

    /// The latest run time at or before `date` that is after `lowerBound` (for missed runs).
    public func lastRun(atOrBefore date: Date, after lowerBound: Date) -> Date? {
        var latest: Date?
        var cursor = lowerBound
        // Bounded: a beat down for years does not loop forever over every minute.
        for _ in 0..<100_000 {
            guard let next = nextRun(after: cursor), next <= date else { break }
            latest = next
            cursor = next
        }
        return latest
    }

    public var description: String {
        switch self {
        case .every(let period): return "every \(Self.format(period))"
        case .cron(let crontab, let timeZone): return "cron '\(crontab)' \(timeZone.identifier)"
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    static func format(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms % size == 0 {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }

    /// Parses a period: a positive number and a unit, `500ms`, `30s`, `5m`, `1h`, `1d` (also `1.5s`).
    /// - Throws: ``CeleriacError`` `invalidConfiguration` saying what a period looks like.
    public static func parsePeriod(_ text: String) throws -> Duration {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (unit, seconds) in units where trimmed.hasSuffix(unit) {
            let number = trimmed.dropLast(unit.count)
            // "5ms" also ends in "s": only accept a number before the unit.
            guard let value = Double(number), value > 0, value.isFinite else { continue }
            let milliseconds = (value * seconds * 1000).rounded()
            guard milliseconds >= 1, milliseconds <= OutsideNumber.maximumSeconds * 1000 else { break }
            return .milliseconds(Int64(milliseconds))
        }
        throw CeleriacError(
            .invalidConfiguration, "'\(text)' is not a period like 500ms, 30s, 5m, 1h or 1d (a positive number and a unit)")
    }
}

/// What a beat does about runs that fell due while no beat was running.
public enum MissedRunPolicy: String, Sendable, Hashable, CaseIterable {
    /// Send one run (the latest missed one) on recovery, then go on with the schedule.
    case runOnce = "run-once"
    /// Send nothing for missed runs; go on with the next one.
    case skip
}

/// One periodic task: what to send and when.
public struct BeatEntry: Sendable, Hashable {
    /// A name unique in the schedule; the key of its state in Redis.
    public var name: String
    /// The task name.
    public var task: String
    /// Positional arguments of each run.
    public var args: [JSONValue]
    /// Keyword arguments of each run.
    public var kwargs: JSONObject
    /// `apply_async` options: queue, priority, expires (seconds), ...
    public var options: TaskOptions
    /// When it runs.
    public var timing: BeatTiming
    /// What happens to runs that fell due while no beat ran.
    public var missed: MissedRunPolicy

    /// Creates an entry.
    public init(
        name: String, task: String, args: [JSONValue] = [], kwargs: JSONObject = [:], options: TaskOptions = TaskOptions(),
        timing: BeatTiming, missed: MissedRunPolicy = .runOnce
    ) {
        self.name = name
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.options = options
        self.timing = timing
        self.missed = missed
    }
}

/// A beat schedule, as loaded from a JSON file:
///
/// ```json
/// {"timezone": "UTC", "entries": [
///   {"name": "heartbeat", "task": "celeriac.examples.noop", "args": [], "kwargs": {},
///    "options": {"queue": "celery", "priority": 0, "expires": 30}, "every": "1s"},
///   {"name": "nightly", "task": "reports.build", "cron": "0 3 * * *", "timezone": "Europe/Berlin",
///    "missed": "skip"}]}
/// ```
public struct BeatSchedule: Sendable, Hashable {
    /// The entries, in file order.
    public var entries: [BeatEntry]

    /// A schedule of these entries.
    /// - Throws: ``CeleriacError`` `invalidConfiguration` for duplicate names.
    public init(entries: [BeatEntry]) throws {
        var seen = Set<String>()
        for entry in entries where !seen.insert(entry.name).inserted {
            throw CeleriacError(.invalidConfiguration, "entry '\(entry.name)': the name is used twice")
        }
        self.entries = entries
    }

    /// Reads a schedule file.
    /// - Throws: ``CeleriacError`` `invalidConfiguration` naming the file, the entry, the field and
    ///   what is wrong.
    public init(contentsOf path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CeleriacError(.invalidConfiguration, "cannot read the schedule file \(path): \(error.localizedDescription)")
        }
        do {
            try self.init(json: Array(data))
        } catch let error as CeleriacError {
            throw CeleriacError(.invalidConfiguration, "\(path): \(error.message)")
        }
    }

    /// Parses a schedule from JSON text.
    /// - Throws: ``CeleriacError`` `invalidConfiguration` naming the entry, the field and why.
    public init(json bytes: [UInt8]) throws {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: bytes)
        } catch {
            throw CeleriacError(.invalidConfiguration, "not valid JSON: \(error)")
        }
        guard case .object(let root) = document else {
            throw CeleriacError(.invalidConfiguration, "the schedule must be a JSON object with \"entries\"")
        }
        for key in root.keys where !["timezone", "entries"].contains(key) {
            throw CeleriacError(.invalidConfiguration, "unknown top-level field '\(key)' (expected timezone, entries)")
        }
        let defaultZone = try Self.timeZone(root["timezone"], context: "the file's timezone") ?? Self.utc
        guard case .array(let items)? = root["entries"] else {
            throw CeleriacError(.invalidConfiguration, "the schedule needs an \"entries\" array")
        }
        var entries: [BeatEntry] = []
        for (index, item) in items.enumerated() {
            entries.append(try Self.entry(item, index: index, defaultZone: defaultZone))
        }
        try self.init(entries: entries)
    }

    private static let utc = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? .current
    private static let entryFields = ["name", "task", "args", "kwargs", "options", "every", "cron", "timezone", "missed"]
    private static let optionFields = ["queue", "priority", "expires", "countdown", "ignore_result", "time_limit", "soft_time_limit", "headers"]

    private static func entry(_ value: JSONValue, index: Int, defaultZone: TimeZone) throws -> BeatEntry {
        guard case .object(let object) = value else {
            throw CeleriacError(.invalidConfiguration, "entry #\(index + 1) is not a JSON object")
        }
        let label = object["name"]?.stringValue.map { "entry '\($0)'" } ?? "entry #\(index + 1)"
        func fail(_ field: String, _ why: String) -> CeleriacError {
            CeleriacError(.invalidConfiguration, "\(label), field '\(field)': \(why)")
        }
        for key in object.keys where !entryFields.contains(key) {
            throw fail(key, "unknown field (expected one of \(entryFields.joined(separator: ", ")))")
        }
        guard let name = object["name"]?.stringValue, !name.isEmpty else { throw fail("name", "a non-empty string is required") }
        guard let task = object["task"]?.stringValue, !task.isEmpty else { throw fail("task", "a non-empty task name is required") }
        var args: [JSONValue] = []
        if let value = object["args"] {
            guard case .array(let list) = value else { throw fail("args", "must be a JSON array") }
            args = list
        }
        var kwargs = JSONObject()
        if let value = object["kwargs"] {
            guard case .object(let map) = value else { throw fail("kwargs", "must be a JSON object") }
            kwargs = map
        }
        let zone = try timeZone(object["timezone"], context: "\(label), field 'timezone'") ?? defaultZone
        let timing: BeatTiming
        switch (object["every"], object["cron"]) {
        case (let every?, nil):
            guard let text = every.stringValue else { throw fail("every", "must be a string like \"30s\"") }
            do { timing = .every(try BeatTiming.parsePeriod(text)) } catch let error as CeleriacError { throw fail("every", error.message) }
        case (nil, let cron?):
            guard let text = cron.stringValue else { throw fail("cron", "must be a string like \"0 3 * * *\"") }
            do { timing = .cron(try Crontab(parsing: text), zone) } catch let error as CeleriacError { throw fail("cron", error.message) }
        case (nil, nil):
            throw fail("every", "each entry needs either 'every' or 'cron'")
        case (_?, _?):
            throw fail("cron", "give either 'every' or 'cron', not both")
        }
        var missed = MissedRunPolicy.runOnce
        if let value = object["missed"] {
            guard let text = value.stringValue, let policy = MissedRunPolicy(rawValue: text) else {
                throw fail("missed", "must be \"run-once\" or \"skip\"")
            }
            missed = policy
        }
        var options = TaskOptions()
        if let value = object["options"] {
            guard case .object(let map) = value else { throw fail("options", "must be a JSON object") }
            for key in map.keys where !optionFields.contains(key) {
                throw fail("options.\(key)", "unknown option (expected one of \(optionFields.joined(separator: ", ")))")
            }
            if let queue = map["queue"] {
                guard let text = queue.stringValue, !text.isEmpty else { throw fail("options.queue", "must be a queue name") }
                options.queue = text
            }
            if let priority = map["priority"] {
                guard let number = priority.intValue, (0...9).contains(number) else { throw fail("options.priority", "must be an integer 0-9") }
                options.priority = number
            }
            if let expires = map["expires"] {
                guard let seconds = expires.doubleValue, seconds > 0, let span = OutsideNumber.duration(seconds: seconds) else {
                    throw fail("options.expires", "must be a positive number of seconds (at most 100 years)")
                }
                options.expires = .after(span)
            }
            if let countdown = map["countdown"] {
                guard let span = countdown.doubleValue.flatMap(OutsideNumber.duration(seconds:)) else {
                    throw fail("options.countdown", "must be seconds ≥ 0 (at most 100 years)")
                }
                options.countdown = span
            }
            if let ignore = map["ignore_result"] {
                guard let flag = ignore.boolValue else { throw fail("options.ignore_result", "must be true or false") }
                options.ignoreResult = flag
            }
            if let limit = map["time_limit"] {
                guard let seconds = limit.doubleValue, seconds > 0, let span = OutsideNumber.duration(seconds: seconds) else {
                    throw fail("options.time_limit", "must be positive seconds, at most \(OutsideNumber.maximumSeconds)")
                }
                options.timeLimit = span
            }
            if let limit = map["soft_time_limit"] {
                guard let seconds = limit.doubleValue, seconds > 0, let span = OutsideNumber.duration(seconds: seconds) else {
                    throw fail("options.soft_time_limit", "must be positive seconds, at most \(OutsideNumber.maximumSeconds)")
                }
                options.softTimeLimit = span
            }
            if let headers = map["headers"] {
                guard case .object(let extra) = headers else { throw fail("options.headers", "must be a JSON object") }
                options.headers = extra
            }
        }
        return BeatEntry(name: name, task: task, args: args, kwargs: kwargs, options: options, timing: timing, missed: missed)
    }

    private static func timeZone(_ value: JSONValue?, context: String) throws -> TimeZone? {
        guard let value else { return nil }
        guard let identifier = value.stringValue, let zone = TimeZone(identifier: identifier) else {
            throw CeleriacError(
                .invalidConfiguration, "\(context): '\(value.stringValue ?? value.serializedString)' is not an IANA time zone (e.g. Europe/Berlin)")
        }
        return zone
    }

    /// The next `count` run times of each entry after `date`, for `--dry-run`.
    public func upcomingRuns(after date: Date, count: Int) -> [(entry: BeatEntry, runs: [Date])] {
        entries.map { entry in
            var runs: [Date] = []
            var cursor = date
            while runs.count < count, let next = entry.timing.nextRun(after: cursor) {
                runs.append(next)
                cursor = next
            }
            return (entry, runs)
        }
    }
}
