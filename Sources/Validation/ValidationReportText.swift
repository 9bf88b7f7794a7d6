import Foundation

extension ValidationReport {
    /// The human report: verdict, summary, most frequent problems, then every problem as
    /// `FILE:LINE:COLUMN: severity: message`. Written next to a rejected drop and printed by
    /// `finetunectl validate`.
    public func text() -> String {
        var out: [String] = []
        let verdict = isValid ? "valid" : "REJECTED"
        out.append(
            "\(file): \(verdict): \(Self.plural(errorCount, "error")), \(Self.plural(warningCount, "warning")) (\(role.rawValue) file for \(model))")
        out.append("  records:          \(Self.grouped(records)) in \(Self.grouped(lines)) lines, \(Self.size(bytes))")
        let perEpoch = "\(Self.grouped(estimatedInputTokens)) input + \(Self.grouped(estimatedOutputTokens)) output"
        if let epochs {
            out.append("  estimated tokens: \(perEpoch) per epoch; \(Self.grouped(estimatedTrainingTokens)) for \(Self.plural(epochs, "epoch"))")
        } else {
            out.append("  estimated tokens: \(perEpoch)")
        }
        if let cost = estimatedCost {
            func money(_ value: Double?) -> String {
                value.map { String(format: "%.2f %@", $0, cost.currency) } ?? "unknown"
            }
            out.append(
                "  estimated cost:   training \(money(cost.training)); no-commitment throughput \(money(cost.throughputPerModelUnitHour)) per model unit per hour; custom model storage \(money(cost.storagePerMonth)) per month (prices as of \(cost.pricesAsOf))"
            )
        } else {
            out.append("  estimated cost:   unknown (the adapter carries no prices)")
        }
        if let largest = largestRecord {
            out.append(
                "  largest record:   line \(largest.line), \(Self.grouped(largest.totalTokens)) tokens (\(Self.grouped(largest.inputTokens)) input, \(Self.grouped(largest.outputTokens)) output)"
            )
        }
        if duplicateRecords > 0 { out.append("  duplicates:       \(Self.plural(duplicateRecords, "record")) repeat an earlier one exactly") }
        if !problemCounts.isEmpty {
            out.append("most frequent problems:")
            for count in problemCounts.prefix(5) {
                out.append(
                    String(
                        format: "  %7d  %@  %@", count.count, count.severity.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0),
                        count.kind.title))
            }
        }
        if !problems.isEmpty {
            out.append("problems:")
            out += problems.map { $0.formatted(file: file) }
            if omittedProblems > 0 {
                out.append("… and \(Self.grouped(omittedProblems)) more (\(Self.grouped(errorCount + warningCount)) problems in all)")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func plural(_ n: Int, _ word: String) -> String { "\(grouped(n)) \(word)\(n == 1 ? "" : "s")" }

    static func grouped(_ n: Int) -> String {
        let digits = String(abs(n))
        var out = ""
        for (index, c) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    static func size(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) bytes" }
        if bytes < 1 << 20 { return String(format: "%.1f KiB", Double(bytes) / 1024) }
        if bytes < 1 << 30 { return String(format: "%.1f MiB", Double(bytes) / 1048576) }
        return String(format: "%.2f GiB", Double(bytes) / 1073741824)
    }
}
