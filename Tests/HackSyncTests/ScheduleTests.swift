import Foundation
import Server
import Testing

struct ScheduleTests {
    let utc: (String) -> Date = { ISO8601DateFormatter().date(from: $0)! }

    @Test func intervalsParse() throws {
        #expect(try Schedule.parse("15m") == .every(.seconds(900)))
        #expect(try Schedule.parse("1h") == .every(.seconds(3600)))
        #expect(throws: ConfigurationError.self) { try Schedule.parse("soon") }
        #expect(throws: ConfigurationError.self) { try Schedule.parse("0m") }
    }

    @Test func cronFindsTheNextMatchingMinute() throws {
        let daily = try CronExpression("0 3 * * *")
        #expect(daily.next(after: utc("2026-11-21T02:59:30Z")) == utc("2026-11-21T03:00:00Z"))
        #expect(daily.next(after: utc("2026-11-21T03:00:00Z")) == utc("2026-11-22T03:00:00Z"))
        let quarter = try CronExpression("*/15 * * * *")
        #expect(quarter.next(after: utc("2026-11-21T10:16:00Z")) == utc("2026-11-21T10:30:00Z"))
        // Mondays at 09:30 (2026-11-23 is a Monday).
        let monday = try CronExpression("30 9 * * 1")
        #expect(monday.next(after: utc("2026-11-21T12:00:00Z")) == utc("2026-11-23T09:30:00Z"))
        let firstOfMonth = try CronExpression("0 0 1 1-12/6 *")
        #expect(firstOfMonth.next(after: utc("2026-11-21T00:00:00Z")) == utc("2027-01-01T00:00:00Z"))
    }

    @Test func badCronFieldsAreRefused() {
        #expect(throws: ConfigurationError.self) { try CronExpression("60 * * * *") }
        #expect(throws: ConfigurationError.self) { try CronExpression("* * * *") }
        #expect(throws: ConfigurationError.self) { try CronExpression("*/0 * * * *") }
        #expect(throws: ConfigurationError.self) { try CronExpression("a * * * *") }
    }
}
