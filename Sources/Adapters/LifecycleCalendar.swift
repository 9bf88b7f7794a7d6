import FinetunedTime
import Foundation

/// The day lifecycle dates are compared with: today in UTC, as an ISO date (`2026-11-28`).
public enum LifecycleCalendar {
    @Sendable public static func today() -> String {
        UTCTime(Date()).isoDate
    }
}
