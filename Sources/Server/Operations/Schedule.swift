import Foundation

/// When a recurring job runs: every fixed interval, or on a cron expression.
public enum Schedule: Sendable, Equatable, CustomStringConvertible {
    case every(Duration)
    case cron(CronExpression)

    /// `"15m"`, `"1h"`, `"90s"`, `"2d"`, or a five-field cron expression.
    public static func parse(_ text: String) throws -> Schedule {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.split(separator: " ").count == 5 { return .cron(try CronExpression(trimmed)) }
        let units: [(Character, Int)] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        if let last = trimmed.last, let unit = units.first(where: { $0.0 == last }), let n = Int(trimmed.dropLast()), n > 0 {
            return .every(.seconds(n * unit.1))
        }
        throw ConfigurationError(message: "schedule must be an interval (30s, 15m, 1h, 1d) or a cron expression (\"0 3 * * *\"), got \(text)")
    }

    /// The first run strictly after `date`.
    public func next(after date: Date) -> Date {
        switch self {
        case .every(let interval): return date.addingTimeInterval(interval / .seconds(1))
        case .cron(let expression): return expression.next(after: date)
        }
    }

    public var description: String {
        switch self {
        case .every(let interval): return "every \(Int(interval / .seconds(1)))s"
        case .cron(let expression): return "cron \(expression.text)"
        }
    }
}

/// A five-field cron expression (minute hour day-of-month month day-of-week,
/// UTC) with `*`, lists, ranges and steps. As in cron, when both day fields
/// are restricted a day matching either runs.
public struct CronExpression: Sendable, Equatable {
    public let text: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let daysRestricted: Bool
    let weekdaysRestricted: Bool

    public init(_ text: String) throws {
        let fields = text.split(separator: " ").map(String.init)
        guard fields.count == 5 else { throw ConfigurationError(message: "cron expression needs 5 fields: \(text)") }
        self.text = text
        minutes = try Self.field(fields[0], 0...59, text)
        hours = try Self.field(fields[1], 0...23, text)
        days = try Self.field(fields[2], 1...31, text)
        months = try Self.field(fields[3], 1...12, text)
        // 7 is Sunday too.
        weekdays = Set(try Self.field(fields[4], 0...7, text).map { $0 % 7 })
        daysRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
    }

    static func field(_ field: String, _ bounds: ClosedRange<Int>, _ text: String) throws -> Set<Int> {
        var values = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ConfigurationError(message: "bad cron field \(field) in \(text)") }
            let step = pieces.count == 2 ? Int(pieces[1]) : 1
            var range: ClosedRange<Int>
            if pieces[0] == "*" {
                range = bounds
            } else if let dash = pieces[0].firstIndex(of: "-"), let lo = Int(pieces[0][..<dash]), let hi = Int(pieces[0][pieces[0].index(after: dash)...]), lo <= hi {
                range = lo...hi
            } else if let value = Int(pieces[0]) {
                range = value...(pieces.count == 2 ? bounds.upperBound : value)
            } else {
                throw ConfigurationError(message: "bad cron field \(field) in \(text)")
            }
            guard let step, step > 0, bounds.contains(range.lowerBound), bounds.contains(range.upperBound) else {
                throw ConfigurationError(message: "cron field \(field) out of range \(bounds) in \(text)")
            }
            values.formUnion(stride(from: range.lowerBound, through: range.upperBound, by: step))
        }
        return values
    }

    /// The first matching minute strictly after `date` (searched up to 5 years ahead).
    public func next(after date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var components = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        components.second = 0
        var candidate = calendar.date(from: components)!.addingTimeInterval(60)
        let limit = date.addingTimeInterval(5 * 366 * 86400)
        while candidate < limit {
            let c = calendar.dateComponents([.month, .day, .hour, .minute, .weekday], from: candidate)
            guard months.contains(c.month!) else {
                candidate = calendar.date(byAdding: .month, value: 1, to: calendar.date(from: calendar.dateComponents([.year, .month], from: candidate))!)!
                continue
            }
            guard dayMatches(day: c.day!, weekday: c.weekday! - 1) else {
                candidate = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: candidate))!
                continue
            }
            guard hours.contains(c.hour!) else {
                candidate = calendar.date(byAdding: .hour, value: 1, to: calendar.date(from: calendar.dateComponents([.year, .month, .day, .hour], from: candidate))!)!
                continue
            }
            if minutes.contains(c.minute!) { return candidate }
            candidate = candidate.addingTimeInterval(60)
        }
        return .distantFuture
    }

    func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (daysRestricted, weekdaysRestricted) {
        case (true, true): return days.contains(day) || weekdays.contains(weekday)
        case (true, false): return days.contains(day)
        case (false, true): return weekdays.contains(weekday)
        case (false, false): return true
        }
    }
}
