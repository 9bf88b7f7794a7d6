import Foundation

/// What `finetunectl watch` shows: a workflow's stage, how long it has run, the service's
/// progress (epoch and losses while training) and the answers collected so far, rendered
/// either as one screen that is redrawn or as plain lines, one per change.
public struct WorkflowProgressView: Sendable, Equatable {
    public static let terminalStages: Set<String> = ["rejected", "done", "failed", "cancelled"]

    public var detail: WorkflowDetail

    public init(detail: WorkflowDetail) {
        self.detail = detail
    }

    public var finished: Bool { Self.terminalStages.contains(detail.workflow.stage) }

    /// "base 12/60, custom 0/60", once inference has started.
    public var inference: String? {
        guard let total = detail.evaluationPrompts else { return nil }
        let answered = detail.answered ?? [:]
        return ["base", "custom"].map { "\($0) \(answered[$0] ?? 0)/\(total)" }.joined(separator: ", ")
    }

    public var scores: String? {
        detail.scores.map {
            String(
                format: "F1 custom %.4f vs base %.4f (%+.4f) over %d prompts: %@", $0.meanCustomF1, $0.meanBaseF1,
                $0.meanCustomF1 - $0.meanBaseF1, $0.prompts, $0.verdict)
        }
    }

    /// The single-screen view, for a terminal.
    public func screen(now: Date, width: Int = 80) -> [String] {
        let w = detail.workflow
        var lines = [
            "finetuned: \(w.profile)/\(w.dropName)",
            "  workflow  \(w.id)" + (detail.attempt > 1 ? " (attempt \(detail.attempt))" : ""),
            "  stage     \(w.stage)",
            "  elapsed   \(Self.duration(now.timeIntervalSince(w.createdAt)))",
        ]
        if let status = detail.serviceStatus { lines.append("  service   \(status)") }
        if let total = detail.evaluationPrompts {
            for model in ["base", "custom"] {
                let done = detail.answered?[model] ?? 0
                lines.append(
                    "  \(model.padding(toLength: 8, withPad: " ", startingAt: 0))  \(Self.bar(done, of: total, width: 30)) \(done)/\(total) answered")
            }
        }
        if let scores { lines.append("  scores    \(scores)") }
        if let failure = w.failure { lines.append("  reason    \(failure)") }
        if finished { lines.append("  archive   \(detail.archive)") }
        return lines.map { $0.count > width ? String($0.prefix(width - 1)) + "…" : $0 }
    }

    /// One plain line with what changes; `watch` prints it when it differs from the last.
    public var line: String {
        let w = detail.workflow
        var parts = [w.stage]
        if let status = detail.serviceStatus { parts.append(status) }
        if let inference { parts.append("answered: " + inference) }
        if let scores { parts.append(scores) }
        if let failure = w.failure { parts.append(failure) }
        return parts.joined(separator: " | ")
    }

    static func bar(_ done: Int, of total: Int, width: Int) -> String {
        let filled = total > 0 ? min(width, done * width / total) : 0
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    static func duration(_ seconds: TimeInterval) -> String {
        // From the daemon's answer: a NaN or an infinity must not trap the client.
        let s = seconds.isFinite ? Int(min(max(0, seconds), 1e9)) : 0
        return s >= 3600 ? String(format: "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
