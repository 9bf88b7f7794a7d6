import Foundation

/// A moment's civil date and time in UTC, worked out with integer arithmetic.
///
/// The daemon writes UTC dates in a few fixed formats (workflow ids, lifecycle days, the
/// mail's Date header, SigV4 timestamps). `DateFormatter` and `Calendar` with a named time
/// zone go through ICU, whose calendar and zone data then stay resident in a daemon that
/// waits for days; these formats need none of it, nor any locale.
public struct UTCTime: Sendable, Equatable {
    public let year: Int
    /// 1…12
    public let month: Int
    /// 1…31
    public let day: Int
    public let hour: Int
    public let minute: Int
    public let second: Int
    /// 0 = Sunday … 6 = Saturday
    public let weekday: Int
    /// 0…999, the fraction of the second cut off (not rounded)
    public let millisecond: Int

    public init(_ date: Date) {
        let interval = date.timeIntervalSince1970
        let seconds = Int64(interval.rounded(.down))
        // Cut off, not rounded; but a moment read back from its own text (seconds + ms / 1000,
        // a Double a few hundred nanoseconds below the millisecond at today's dates) must
        // write the same text again, or every rewrite of a row would move its dates back.
        millisecond = min(999, Int(((interval - interval.rounded(.down)) * 1000 + 0.001).rounded(.down)))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        hour = Int(secondOfDay / 3600)
        minute = Int(secondOfDay % 3600 / 60)
        second = Int(secondOfDay % 60)
        // 1970-01-01 was a Thursday.
        weekday = Int(((days % 7) + 7 + 4) % 7)
        // Days to a proleptic Gregorian date, counting in 400-year eras that start on 1 March
        // (so the leap day is the last day of its year).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    /// `2026-11-28`
    public var isoDate: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))" }

    /// `20261128`
    public var compactDate: String { pad(year, 4) + pad(month, 2) + pad(day, 2) }

    /// `20261128T093005Z` (SigV4's X-Amz-Date)
    public var compactTimestamp: String { compactDate + "T" + pad(hour, 2) + pad(minute, 2) + pad(second, 2) + "Z" }

    /// `2026-11-28 09:30:05.250`: how GRDB stores a `Date` in SQLite by default.
    public var databaseText: String {
        "\(isoDate) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(millisecond, 3))"
    }

    /// `2026-11-28T09:30:05Z`: what `JSONEncoder`'s `.iso8601` strategy writes.
    public var iso8601: String { "\(isoDate)T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))Z" }

    /// `2026-11-28T09:30:05.250Z`
    public var iso8601Milliseconds: String {
        "\(isoDate)T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(millisecond, 3))Z"
    }

    /// The moment `databaseText` wrote (`2026-11-28 09:30:05.250`; the milliseconds may be
    /// absent, as GRDB also accepts), or nil for any other text.
    public static func date(databaseText text: String) -> Date? {
        parse(Array(text.utf8), dateTimeSeparator: " ", zoneSuffix: false)
    }

    /// The moment `iso8601` or `iso8601Milliseconds` wrote, or nil for any other text
    /// (other offsets than `Z` included).
    public static func date(iso8601 text: String) -> Date? {
        parse(Array(text.utf8), dateTimeSeparator: "T", zoneSuffix: true)
    }

    /// `yyyy-MM-dd?HH:mm:ss[.SSS][Z]`, strictly.
    private static func parse(_ bytes: [UInt8], dateTimeSeparator: Character, zoneSuffix: Bool) -> Date? {
        var bytes = bytes
        if zoneSuffix {
            guard bytes.last == UInt8(ascii: "Z") else { return nil }
            bytes.removeLast()
        }
        guard bytes.count == 19 || bytes.count == 23 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        let separators: [(Int, Character)] =
            [(4, "-"), (7, "-"), (10, dateTimeSeparator), (13, ":"), (16, ":")] + (bytes.count == 23 ? [(19, ".")] : [])
        guard separators.allSatisfy({ bytes[$0.0] == $0.1.asciiValue }),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        let millisecond = bytes.count == 23 ? number(20..<23) : 0
        guard let millisecond else { return nil }
        // The inverse of the civil-date arithmetic in init: days since 1970-01-01.
        let shiftedYear = Int64(month <= 2 ? year - 1 : year)
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = Int64((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1)
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Date(timeIntervalSince1970: Double(seconds) + Double(millisecond) / 1000)
    }

    /// `Sat, 28 Nov 2026 09:30:05 +0000` (RFC 5322's date-time)
    public var rfc5322: String {
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(weekdays[weekday]), \(pad(day, 2)) \(months[month - 1]) \(pad(year, 4)) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)) +0000"
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
