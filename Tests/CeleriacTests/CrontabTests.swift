import Celeriac
import Foundation
import Testing

/// Cron parsing and next-run computation, including daylight saving time.
@Suite struct CrontabTests {
    private func at(_ text: String) throws -> Date { try CeleryTimestamp.parse(text) }
    private let utc = TimeZone(identifier: "UTC")!
    private let berlin = TimeZone(identifier: "Europe/Berlin")!
    private let newYork = TimeZone(identifier: "America/New_York")!

    @Test func parsesFieldsNamesStepsListsAndAliases() throws {
        let quarter = try Crontab(parsing: "*/15 * * * *")
        #expect(quarter.minutes == [0, 15, 30, 45])
        #expect(quarter.hours.count == 24)
        let office = try Crontab(parsing: "0 9-17/2 * * mon-fri")
        #expect(office.hours == [9, 11, 13, 15, 17])
        #expect(office.daysOfWeek == [1, 2, 3, 4, 5])
        let twice = try Crontab(parsing: "0 0 1,15 jan,JUL *")
        #expect(twice.daysOfMonth == [1, 15] && twice.months == [1, 7])
        #expect(try Crontab(parsing: "0 0 * * 7").daysOfWeek == [0])
        #expect(try Crontab(parsing: "5/20 * * * *").minutes == [5, 25, 45])
        #expect(try Crontab(parsing: "@weekly") == Crontab(parsing: "0 0 * * 0"))
        #expect(try Crontab(parsing: "@daily").hours == [0])
        #expect(try Crontab(parsing: "@monthly").daysOfMonth == [1])
        #expect(try Crontab(parsing: "@yearly").months == [1])
    }

    @Test(arguments: [
        ("61 * * * *", "minute field '61': 61 is outside 0-59"),
        ("* * *", "has 3 fields; it needs 5"),
        ("*/0 * * * *", "the step '0' is not a positive number"),
        ("5-1 * * * *", "the range 5-1 runs backwards"),
        ("@fortnightly", "unknown cron alias"),
        ("* * * foo *", "month field 'foo': 'foo' is not a number or a name"),
        ("* 24 * * *", "hour field '24'"),
        ("* * 0 * *", "day-of-month field '0'"),
        ("1,,2 * * * *", "an empty list item"),
    ])
    func rejectsBadExpressions(expression: String, message: String) {
        let error = #expect(throws: CeleriacError.self) { try Crontab(parsing: expression) }
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test func nextRunsInUTC() throws {
        #expect(try Crontab(parsing: "0 3 * * *").nextRun(after: at("2026-01-31T04:00:00Z"), in: utc) == at("2026-02-01T03:00:00Z"))
        #expect(try Crontab(parsing: "* * * * *").nextRun(after: at("2026-05-05T10:00:30Z"), in: utc) == at("2026-05-05T10:01:00Z"))
        #expect(try Crontab(parsing: "* * * * *").nextRun(after: at("2026-05-05T10:01:00Z"), in: utc) == at("2026-05-05T10:02:00Z"))
        // Month ends: only months with a 31st.
        #expect(try Crontab(parsing: "0 0 31 * *").nextRun(after: at("2026-04-01T00:00:00Z"), in: utc) == at("2026-05-31T00:00:00Z"))
        #expect(try Crontab(parsing: "59 23 30 * *").nextRun(after: at("2026-02-01T00:00:00Z"), in: utc) == at("2026-03-30T23:59:00Z"))
        // Leap day: the next 29 February.
        #expect(try Crontab(parsing: "0 12 29 2 *").nextRun(after: at("2026-03-01T00:00:00Z"), in: utc) == at("2028-02-29T12:00:00Z"))
        #expect(try Crontab(parsing: "0 0 30 2 *").nextRun(after: at("2026-03-01T00:00:00Z"), in: utc) == nil)
        // Both day fields restricted: either matches (cron's rule). 2026-06-01 is a Monday.
        let either = try Crontab(parsing: "0 8 15 * mon")
        #expect(either.nextRun(after: try at("2026-05-31T12:00:00Z"), in: utc) == (try at("2026-06-01T08:00:00Z")))
        #expect(either.nextRun(after: try at("2026-06-12T12:00:00Z"), in: utc) == (try at("2026-06-15T08:00:00Z")))
        // Day names: the next Friday 17:00.
        #expect(try Crontab(parsing: "0 17 * * fri").nextRun(after: at("2026-06-01T00:00:00Z"), in: utc) == at("2026-06-05T17:00:00Z"))
    }

    @Test func berlinSpringForwardRunsOnceWhenTheClocksJump() throws {
        // 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00Z; 02:30 does not exist that day.
        let daily = try Crontab(parsing: "30 2 * * *")
        #expect(daily.nextRun(after: try at("2026-03-28T12:00:00Z"), in: berlin) == (try at("2026-03-29T01:00:00Z")))
        #expect(daily.nextRun(after: try at("2026-03-29T01:00:00Z"), in: berlin) == (try at("2026-03-30T00:30:00Z")))
        // Every 15 minutes: 01:45 CET, then one run at the jump, then 03:15 CEST.
        let quarter = try Crontab(parsing: "*/15 * * * *")
        #expect(quarter.nextRun(after: try at("2026-03-29T00:30:00Z"), in: berlin) == (try at("2026-03-29T00:45:00Z")))
        #expect(quarter.nextRun(after: try at("2026-03-29T00:45:00Z"), in: berlin) == (try at("2026-03-29T01:00:00Z")))
        #expect(quarter.nextRun(after: try at("2026-03-29T01:00:00Z"), in: berlin) == (try at("2026-03-29T01:15:00Z")))
    }

    @Test func berlinFallBackRunsFixedTimesOnceAndWildcardHoursBothTimes() throws {
        // 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00Z; 02:30 happens at 00:30Z and 01:30Z.
        let daily = try Crontab(parsing: "30 2 * * *")
        #expect(daily.nextRun(after: try at("2026-10-24T12:00:00Z"), in: berlin) == (try at("2026-10-25T00:30:00Z")))
        #expect(daily.nextRun(after: try at("2026-10-25T00:30:00Z"), in: berlin) == (try at("2026-10-26T01:30:00Z")))
        // Every 30 minutes keeps its pace in real time through the repeated hour.
        let halfHourly = try Crontab(parsing: "*/30 * * * *")
        var runs: [Date] = []
        var cursor = try at("2026-10-24T23:50:00Z")
        for _ in 0..<6 {
            cursor = try #require(halfHourly.nextRun(after: cursor, in: berlin))
            runs.append(cursor)
        }
        #expect(runs == (try ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"].map { try at("2026-10-25T\($0):00Z") }))
    }

    @Test func newYorkTransitions() throws {
        // 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00Z.
        let spring = try Crontab(parsing: "30 2 * * *")
        #expect(spring.nextRun(after: try at("2026-03-07T12:00:00Z"), in: newYork) == (try at("2026-03-08T07:00:00Z")))
        #expect(spring.nextRun(after: try at("2026-03-08T07:00:00Z"), in: newYork) == (try at("2026-03-09T06:30:00Z")))
        // 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00Z; 01:30 happens at 05:30Z and 06:30Z.
        let fall = try Crontab(parsing: "30 1 * * *")
        #expect(fall.nextRun(after: try at("2026-10-31T12:00:00Z"), in: newYork) == (try at("2026-11-01T05:30:00Z")))
        #expect(fall.nextRun(after: try at("2026-11-01T05:30:00Z"), in: newYork) == (try at("2026-11-02T06:30:00Z")))
        // A midnight job is untouched by the 2 AM changes.
        #expect(try Crontab(parsing: "@daily").nextRun(after: at("2026-11-01T03:00:00Z"), in: newYork) == at("2026-11-01T04:00:00Z"))
        #expect(try Crontab(parsing: "@daily").nextRun(after: at("2026-11-01T04:00:00Z"), in: newYork) == at("2026-11-02T05:00:00Z"))
    }

    @Test func intervalsRunOnAGridAnchoredAtTheEpoch() throws {
        #expect(try BeatTiming.parsePeriod("500ms") == .milliseconds(500))
        #expect(try BeatTiming.parsePeriod("30s") == .seconds(30))
        #expect(try BeatTiming.parsePeriod("5m") == .seconds(300))
        #expect(try BeatTiming.parsePeriod("1h") == .seconds(3600))
        #expect(try BeatTiming.parsePeriod("1d") == .seconds(86_400))
        #expect(try BeatTiming.parsePeriod("1.5s") == .milliseconds(1500))
        for bad in ["5x", "-1s", "0s", "s", "", "1 fortnight"] {
            #expect(throws: CeleriacError.self) { try BeatTiming.parsePeriod(bad) }
        }
        let everySecond = BeatTiming.every(.seconds(1))
        #expect(everySecond.nextRun(after: try at("2026-05-05T10:00:00.400Z")) == (try at("2026-05-05T10:00:01Z")))
        #expect(everySecond.nextRun(after: try at("2026-05-05T10:00:01Z")) == (try at("2026-05-05T10:00:02Z")))
        let halfSecond = BeatTiming.every(.milliseconds(500))
        #expect(halfSecond.nextRun(after: try at("2026-05-05T10:00:00.600Z")) == (try at("2026-05-05T10:00:01Z")))
        let everyMinute = BeatTiming.every(.seconds(60))
        #expect(everyMinute.nextRun(after: try at("2026-05-05T10:00:59.999Z")) == (try at("2026-05-05T10:01:00Z")))
        #expect(everyMinute.lastRun(atOrBefore: try at("2026-05-05T10:05:30Z"), after: try at("2026-05-05T10:00:00Z"))
            == (try at("2026-05-05T10:05:00Z")))
    }

    @Test func loadsTheScheduleFileAndNamesWhatIsWrong() throws {
        let good = """
            {"timezone": "UTC", "entries": [
              {"name": "heartbeat", "task": "celeriac.examples.noop", "args": [], "kwargs": {},
               "options": {"queue": "celery", "priority": 0, "expires": 30}, "every": "1s"},
              {"name": "nightly", "task": "celeriac.examples.add", "args": [1, 2], "cron": "0 3 * * *",
               "timezone": "Europe/Berlin", "missed": "skip"}]}
            """
        let schedule = try BeatSchedule(json: Array(good.utf8))
        #expect(schedule.entries.map(\.name) == ["heartbeat", "nightly"])
        #expect(schedule.entries[0].timing == .every(.seconds(1)))
        #expect(schedule.entries[0].options.queue == "celery" && schedule.entries[0].options.expires == .after(.seconds(30)))
        #expect(schedule.entries[1].timing == .cron(try Crontab(parsing: "0 3 * * *"), berlin))
        #expect(schedule.entries[1].missed == .skip)
        let upcoming = schedule.upcomingRuns(after: try at("2026-06-01T12:00:00Z"), count: 2)
        #expect(upcoming[1].runs == (try [at("2026-06-02T01:00:00Z"), at("2026-06-03T01:00:00Z")]))

        let cases: [(String, String)] = [
            (#"{"entries": [{"name": "a", "task": "t"}]}"#, "entry 'a', field 'every': each entry needs either 'every' or 'cron'"),
            (#"{"entries": [{"name": "a", "task": "t", "every": "1s", "cron": "* * * * *"}]}"#, "entry 'a', field 'cron': give either"),
            (#"{"entries": [{"name": "b", "task": "t", "cron": "70 * * * *"}]}"#, "entry 'b', field 'cron': cron minute field '70'"),
            (#"{"entries": [{"name": "c", "task": "t", "every": "soon"}]}"#, "entry 'c', field 'every': 'soon' is not a period"),
            (#"{"entries": [{"name": "d", "task": "t", "every": "1s", "timezone": "Mars/Olympus"}]}"#, "entry 'd', field 'timezone': 'Mars/Olympus' is not an IANA time zone"),
            (#"{"entries": [{"name": "e", "task": "t", "every": "1s", "options": {"priority": 12}}]}"#, "entry 'e', field 'options.priority'"),
            (#"{"entries": [{"name": "f", "task": "t", "every": "1s", "options": {"routing": "x"}}]}"#, "entry 'f', field 'options.routing': unknown option"),
            (#"{"entries": [{"name": "f2", "task": "t", "every": "1s", "options": {"time_limit": 1e300}}]}"#, "entry 'f2', field 'options.time_limit': must be positive seconds, at most"),
            (#"{"entries": [{"name": "f3", "task": "t", "every": "1s", "options": {"soft_time_limit": 0}}]}"#, "entry 'f3', field 'options.soft_time_limit'"),
            (#"{"entries": [{"name": "g", "every": "1s"}]}"#, "entry 'g', field 'task'"),
            (#"{"entries": [{"task": "t", "every": "1s"}]}"#, "entry #1, field 'name'"),
            (#"{"entries": [{"name": "h", "task": "t", "every": "1s"}, {"name": "h", "task": "t", "every": "2s"}]}"#, "entry 'h': the name is used twice"),
            (#"{"entries": [{"name": "i", "task": "t", "every": "1s", "missed": "maybe"}]}"#, "entry 'i', field 'missed'"),
            (#"{"timezone": "Nowhere", "entries": []}"#, "the file's timezone: 'Nowhere'"),
            (#"{"entries": {}}"#, "needs an \"entries\" array"),
            ("{not json", "not valid JSON"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: CeleriacError.self) { try BeatSchedule(json: Array(text.utf8)) }
            #expect(error?.message.contains(message) == true, "\(text) → \(error?.message ?? "")")
        }
    }
}
