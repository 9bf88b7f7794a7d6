import Foundation

/// The day lifecycle dates are compared with: today in UTC, as an ISO date (`2026-11-28`).
public enum LifecycleCalendar {
    @Sendable public static func today() -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: Date())
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }
}
