import Model

/// A source's timestamp, normalised to UTC microseconds since the epoch.
///
/// Accepted, as sources send them:
/// - ISO 8601 / RFC 3339: `2024-03-01T12:00:00Z`, with a fraction of any
///   length, an offset (`+05:30`, `+0530`, `-08`) or none (read as UTC), a
///   space instead of the `T`;
/// - epoch seconds and epoch milliseconds, as a number or a string of
///   digits (a magnitude of 10^11 or more is milliseconds: as seconds that
///   would be the year 5138);
/// - RFC 2822: `Fri, 01 Mar 2024 12:00:00 +0000`, the weekday optional, the
///   zone an offset or `GMT`/`UT`/`UTC`/`Z` or a US zone name.
///
/// Anything else is nil: the record is dead-lettered, not guessed at.
public struct EventTimestamp: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var microseconds: Int64

    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    public static func < (a: Self, b: Self) -> Bool { a.microseconds < b.microseconds }

    public init?(_ value: JSONValue) {
        switch value {
        case .number(let number): self.init(epoch: number)
        case .string(let text): self.init(text)
        default: return nil
        }
    }

    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        let numeric = bytes.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
        if numeric, let number = Double(text) {
            self.init(epoch: number)
        } else if let parsed = Self.iso8601(bytes) ?? Self.rfc2822(bytes) {
            self = parsed
        } else {
            return nil
        }
    }

    /// Epoch seconds, or milliseconds from a magnitude of 10^11 up.
    init?(epoch: Double) {
        guard epoch.isFinite else { return nil }
        let micros = abs(epoch) >= 1e11 ? epoch * 1_000 : epoch * 1_000_000
        guard abs(micros) < 1e17 else { return nil }  // past the year 5000: not a timestamp
        self.init(microseconds: Int64(micros.rounded()))
    }

    /// `2024-03-01T12:00:00.123456Z`: what Postgres reads as a timestamptz.
    public var description: String {
        let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
        let fraction = microseconds - seconds * 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let inDay = seconds - days * 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var text = "\(year)-\(two(month))-\(two(day))T\(two(inDay / 3600)):\(two(inDay / 60 % 60)):\(two(inDay % 60))"
        if fraction != 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: 6 - digits.count) + digits
        }
        return text + "Z"
    }

    // MARK: - Formats

    private static func iso8601(_ b: [UInt8]) -> EventTimestamp? {
        var scanner = Scanner(b)
        guard let year = scanner.number(digits: 4), scanner.take("-"), let month = scanner.number(digits: 2), scanner.take("-"),
              let day = scanner.number(digits: 2), scanner.take("T") || scanner.take("t") || scanner.take(" "),
              let hour = scanner.number(digits: 2), scanner.take(":"), let minute = scanner.number(digits: 2) else { return nil }
        var second: Int64 = 0
        var micros: Int64 = 0
        if scanner.take(":") {
            guard let s = scanner.number(digits: 2) else { return nil }
            second = s
            if scanner.take(".") || scanner.take(",") {
                guard let fraction = scanner.fraction() else { return nil }
                micros = fraction
            }
        }
        var offset: Int64 = 0
        if scanner.take("Z") || scanner.take("z") {
        } else if let sign = scanner.sign() {
            guard let hours = scanner.number(digits: 2) else { return nil }
            var minutes: Int64 = 0
            if scanner.take(":") {
                guard let m = scanner.number(digits: 2) else { return nil }
                minutes = m
            } else if let m = scanner.number(digits: 2) {
                minutes = m
            }
            guard hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard scanner.atEnd else { return nil }
        return make(year: year, month: month, day: day, hour: hour, minute: minute, second: second, micros: micros, offset: offset)
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let zones: [String: Int64] = ["ut": 0, "utc": 0, "gmt": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5,
                                                 "mst": -7, "mdt": -6, "pst": -8, "pdt": -7]

    private static func rfc2822(_ b: [UInt8]) -> EventTimestamp? {
        var scanner = Scanner(b)
        scanner.spaces()
        if let word = scanner.word() {
            guard days.contains(word), scanner.take(",") else { return nil }
            scanner.spaces()
        }
        guard let day = scanner.number(minDigits: 1, maxDigits: 2), scanner.spaces(),
              let monthName = scanner.word(), let month = months.firstIndex(of: monthName), scanner.spaces(),
              let year = scanner.number(minDigits: 4, maxDigits: 4), scanner.spaces(),
              let hour = scanner.number(digits: 2), scanner.take(":"), let minute = scanner.number(digits: 2) else { return nil }
        var second: Int64 = 0
        if scanner.take(":") {
            guard let s = scanner.number(digits: 2) else { return nil }
            second = s
        }
        guard scanner.spaces() else { return nil }
        var offset: Int64
        if let sign = scanner.sign() {
            guard let hours = scanner.number(digits: 2), let minutes = scanner.number(digits: 2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else if let zone = scanner.word(), let hours = zones[zone] {
            offset = hours * 3600
        } else {
            return nil
        }
        scanner.spaces()
        guard scanner.atEnd else { return nil }
        return make(year: year, month: Int64(month + 1), day: day, hour: hour, minute: minute, second: second, micros: 0, offset: offset)
    }

    private static func make(year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64, micros: Int64, offset: Int64) -> EventTimestamp? {
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second <= 60 else { return nil }  // 60: a leap second, read as the next one
        let seconds = days(fromYear: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return EventTimestamp(microseconds: seconds * 1_000_000 + micros)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Reads ASCII left to right; every method consumes only on success.
    private struct Scanner {
        let bytes: [UInt8]
        var at = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { at == bytes.count }

        mutating func take(_ character: Character) -> Bool {
            guard at < bytes.count, bytes[at] == character.asciiValue else { return false }
            at += 1
            return true
        }

        mutating func number(digits: Int) -> Int64? {
            number(minDigits: digits, maxDigits: digits)
        }

        mutating func number(minDigits: Int, maxDigits: Int) -> Int64? {
            var value: Int64 = 0
            var count = 0
            while count < maxDigits, at + count < bytes.count, let digit = Self.digit(bytes[at + count]) {
                value = value * 10 + digit
                count += 1
            }
            guard count >= minDigits else { return nil }
            at += count
            return value
        }

        /// Digits after the decimal point, as microseconds (truncated past six).
        mutating func fraction() -> Int64? {
            var value: Int64 = 0
            var count = 0
            while at < bytes.count, let digit = Self.digit(bytes[at]) {
                if count < 6 { value = value * 10 + digit }
                count += 1
                at += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 6) { value *= 10 }
            return value
        }

        mutating func sign() -> Int64? {
            if take("+") { return 1 }
            if take("-") { return -1 }
            return nil
        }

        /// Letters, lower-cased.
        mutating func word() -> String? {
            var end = at
            while end < bytes.count, (bytes[end] | 0x20) >= UInt8(ascii: "a"), (bytes[end] | 0x20) <= UInt8(ascii: "z") { end += 1 }
            guard end > at else { return nil }
            defer { at = end }
            return String(decoding: bytes[at..<end].map { $0 | 0x20 }, as: UTF8.self)
        }

        /// One or more spaces; false when there are none.
        @discardableResult
        mutating func spaces() -> Bool {
            let start = at
            while at < bytes.count, bytes[at] == UInt8(ascii: " ") { at += 1 }
            return at > start
        }

        private static func digit(_ byte: UInt8) -> Int64? {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int64(byte - UInt8(ascii: "0")) : nil
        }
    }
}
