import Foundation

/// `JSONEncoder`'s and `JSONDecoder`'s `.iso8601` text (`2026-11-28T09:30:05Z`), by `UTCTime`.
///
/// Foundation's own `.iso8601` strategies reach ICU's time-zone data through Foundation's
/// `TimeZone`, which then stays resident in a daemon that wrote one date; these write the
/// same text and read it back without it.
extension JSONEncoder.DateEncodingStrategy {
    public static var utcISO8601: Self {
        .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(UTCTime(date).iso8601)
        }
    }
}

extension JSONDecoder.DateDecodingStrategy {
    public static var utcISO8601: Self {
        .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = UTCTime.date(iso8601: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a UTC ISO 8601 date-time: \(text)")
            }
            return date
        }
    }
}
