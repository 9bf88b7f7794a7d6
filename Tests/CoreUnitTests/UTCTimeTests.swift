import FinetunedTime
import Foundation
import Testing

/// UTC dates by integer arithmetic, checked against Foundation's ICU-backed formatter.
@Suite("UTC time without ICU")
struct UTCTimeTests {
    static func reference(_ format: String, _ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = format
        return formatter.string(from: date)
    }

    @Test("every format agrees with DateFormatter over 1900–2200, leap days, ends of years and pre-1970 moments")
    func agreesWithDateFormatter() {
        var generator = SystemRandomNumberGenerator()
        var moments: [TimeInterval] = (0..<3000).map { _ in
            TimeInterval(Int64.random(in: -2_208_988_800...7_258_118_400, using: &generator)) + TimeInterval(
                Int.random(in: 0...999, using: &generator)) / 1000 + 0.0002
        }
        moments += [0, -1, 86_399, 86_400, 951_782_400, 951_868_799, 1_709_164_800, 4_107_456_000, 1_798_761_599, -2_208_988_800, 1_795_857_005.75]
        for seconds in moments {
            let date = Date(timeIntervalSince1970: seconds)
            let time = UTCTime(date)
            #expect(time.isoDate == Self.reference("yyyy-MM-dd", date), "\(seconds)")
            #expect(time.compactTimestamp == Self.reference("yyyyMMdd'T'HHmmss'Z'", date), "\(seconds)")
            #expect(time.rfc5322 == Self.reference("EEE, dd MMM yyyy HH:mm:ss Z", date), "\(seconds)")
            #expect(time.databaseText == Self.reference("yyyy-MM-dd HH:mm:ss.SSS", date), "\(seconds)")
            #expect(time.iso8601 == Self.reference("yyyy-MM-dd'T'HH:mm:ss'Z'", date), "\(seconds)")
            #expect(time.iso8601Milliseconds == Self.reference("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", date), "\(seconds)")
            #expect(UTCTime.date(iso8601: time.iso8601Milliseconds) == UTCTime.date(databaseText: time.databaseText), "\(seconds)")
            // Reading it back gives the moment to the millisecond, as DateFormatter reads it.
            let parsed = UTCTime.date(databaseText: time.databaseText)
            #expect(parsed == Self.parser.date(from: time.databaseText), "\(seconds)")
            #expect(parsed.map { abs($0.timeIntervalSince(date)) < 0.001 } == true, "\(seconds)")
        }
    }

    static let parser: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSS"
        return formatter
    }()

    @Test("the JSON strategies write what Foundation's .iso8601 writes and read it back, without ICU")
    func jsonStrategies() throws {
        struct Stamped: Codable, Equatable { var at: Date }
        let ours = JSONEncoder(), foundations = JSONEncoder()
        ours.dateEncodingStrategy = .utcISO8601
        foundations.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .utcISO8601
        for seconds in [0, 1_795_857_005, 951_782_400, -86_401, 4_107_456_000] as [TimeInterval] {
            let value = Stamped(at: Date(timeIntervalSince1970: seconds))
            let data = try ours.encode(value)
            #expect(data == (try foundations.encode(value)))
            #expect(try decoder.decode(Stamped.self, from: data) == value)
        }
        #expect(throws: DecodingError.self) { try decoder.decode(Stamped.self, from: Data(#"{"at": "2026-11-28T09:10:05+01:00"}"#.utf8)) }
    }

    @Test("database text that is not a moment is refused")
    func refusesOtherText() {
        #expect(UTCTime.date(databaseText: "2026-11-28 09:10:05") == Date(timeIntervalSince1970: 1_795_857_005))
        for text in [
            "2026-13-28 09:10:05.000", "2026-11-28T09:10:05.000", "2026-11-28 24:00:00.000", "2026-11-28 09:10:05.2",
            "2026-11-28 09:1a:05.000", "", "2026-11-28", "2026-11-28 09:10:05.250Z",
        ] {
            #expect(UTCTime.date(databaseText: text) == nil, "\(text)")
        }
    }

    @Test("known moments")
    func knownMoments() {
        #expect(UTCTime(Date(timeIntervalSince1970: 1_795_857_005)).rfc5322 == "Sat, 28 Nov 2026 09:10:05 +0000")
        #expect(UTCTime(Date(timeIntervalSince1970: 951_782_400)).isoDate == "2000-02-29")
        #expect(UTCTime(Date(timeIntervalSince1970: -1)).compactTimestamp == "19691231T235959Z")
    }
}

@Suite("UTC time: stored dates")
struct StoredDateRoundTripTests {
    @Test("a date read back from its database text writes the same text, however often it is rewritten")
    func idempotent() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<100_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: 1_700_000_000...1_900_000_000, using: &rng))
            let text = UTCTime(date).databaseText
            let back = UTCTime.date(databaseText: text)!
            #expect(UTCTime(back).databaseText == text, "\(text)")
            #expect(date.timeIntervalSince(back) > -0.000_001 && date.timeIntervalSince(back) < 0.001, "cut off to the millisecond")
            if UTCTime(back).databaseText != text { break }
        }
    }
}
