import Foundation

/// The facts a notification reports, as the outbox stores them (JSON). The channels of
/// issue #9 render them as email, webhook JSON or a journal line.
public struct NotificationFacts: Sendable, Codable, Equatable {
    public var kind: String
    public var workflowID: String
    public var profile: String
    public var dropName: String
    public var attempt: Int
    public var stage: String
    public var reason: String?
    public var scores: ScoreSummary?
    public var jobARN: String?
    public var customModelARN: String?
    public var throughputARN: String?
    public var customModelRetained: Bool
    public var cleanup: [String]
    public var headline: String
    /// Loss per epoch, when the backend reported it.
    public var trainingLoss: [EpochMetrics]? = nil
    /// Where a rejected drop's line-numbered report is.
    public var report: String? = nil
    /// What served the custom model (nil: a provisioned throughput, as before the choice).
    public var serving: Serving? = nil
    /// What the evaluation used, per model: tokens (what on-demand serving bills).
    public var usage: [TokenUsage]? = nil
    /// Hours the provisioned throughput billed, from going into service to its deletion; nil
    /// when there was none or it is kept and still billing.
    public var throughputHours: Double? = nil
    /// The workflow's `report.html`, which mail attaches.
    public var htmlReport: String? = nil

    /// A drop refused before any money was spent: one outbox entry per channel, committed
    /// with the rejection itself.
    public static func rejection(
        workflowID: String, profile: String, dropName: String, problem: String, report: String,
        channels: [String]
    ) -> [OutboxEntry] {
        let facts = NotificationFacts(
            kind: "rejected", workflowID: workflowID, profile: profile, dropName: dropName, attempt: 1, stage: "rejected",
            reason: problem, scores: nil, jobARN: nil, customModelARN: nil, throughputARN: nil, customModelRetained: false,
            cleanup: [], headline: "\(profile)/\(dropName) rejected before any money was spent: \(problem)", report: report)
        return fanOut(OutboxEntry(workflowID: workflowID, channel: "log", kind: "rejected", payload: facts.json), channels: channels)
    }

    static func outcome(
        _ outcome: WorkflowMachine.Outcome, record: WorkflowRecord, swept: [String], trainingLoss: [EpochMetrics] = [],
        answers: [InferenceAnswer] = [], htmlReport: String? = nil, now: Date = Date()
    ) -> String {
        let c = record.context
        var cleanup = swept
        if c.jobStopped, c.jobARN != nil, c.customModelARN == nil { cleanup.append("stopped job \(c.jobARN!)") }
        if c.throughputDeleted, let t = c.throughputARN { cleanup.append("deleted \(c.serving.words) \(t)") }
        if c.customModelDeleted, let m = c.customModelARN { cleanup.append("deleted custom model \(m)") }
        let name = "\(record.profile)/\(record.dropName)"
        let headline: String
        switch outcome {
        case .kept:
            headline =
                c.scores.map {
                    String(
                        format: "%@ kept — F1 %.3f vs %.3f (%+.3f, %.0f%% of resamples)", name, $0.meanCustomF1, $0.meanBaseF1,
                        $0.meanCustomF1 - $0.meanBaseF1, $0.winShare * 100)
                } ?? "\(name) kept"
        case .notKept:
            let verdict = c.scores?.verdict == "inconclusive" ? "inconclusive, not kept" : "not better, not kept"
            headline =
                c.scores.map { String(format: "%@ %@ — F1 %.3f vs %.3f", name, verdict, $0.meanCustomF1, $0.meanBaseF1) } ?? "\(name) \(verdict)"
        case .failed:
            headline = "\(name) failed: \(c.failureReason ?? "unknown reason")"
        case .cancelled:
            headline = "\(name) cancelled"
        }
        let facts = NotificationFacts(
            kind: outcome.rawValue, workflowID: record.id, profile: record.profile, dropName: record.dropName, attempt: c.attempt,
            stage: record.stage.rawValue, reason: outcome == .kept || outcome == .notKept ? c.decisionReason : c.failureReason,
            scores: c.scores, jobARN: c.jobARN, customModelARN: c.customModelARN, throughputARN: c.throughputARN,
            customModelRetained: outcome == .failed && c.customModelRetained, cleanup: cleanup, headline: headline,
            trainingLoss: trainingLoss.isEmpty ? nil : trainingLoss, serving: c.throughputARN == nil ? nil : c.serving,
            usage: answers.isEmpty ? nil : TokenUsage.sum(answers),
            throughputHours: c.serving == .provisioned && c.throughputDeleted
                ? (c.throughputInServiceAt ?? c.throughputCreatedAt).map { now.timeIntervalSince($0) / 3600 } : nil,
            htmlReport: htmlReport)
        return facts.json
    }

    static func cleanupStuck(record: WorkflowRecord, action: String, error: String) -> String {
        let c = record.context
        return NotificationFacts(
            kind: "cleanup_stuck", workflowID: record.id, profile: record.profile, dropName: record.dropName, attempt: c.attempt,
            stage: record.stage.rawValue, reason: error, scores: nil, jobARN: c.jobARN, customModelARN: c.customModelARN,
            throughputARN: c.throughputARN, customModelRetained: false, cleanup: [],
            headline: "\(record.profile)/\(record.dropName): \(action) keeps failing, still trying: \(error)"
        ).json
    }

    /// One outbox entry per channel: each is delivered, retried and given up on its own.
    static func fanOut(_ entry: OutboxEntry, channels: [String]) -> [OutboxEntry] {
        (channels.isEmpty ? ["log"] : channels).map {
            var e = entry
            e.channel = $0
            return e
        }
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public static func decode(_ payload: String) -> NotificationFacts? {
        try? JSONDecoder().decode(NotificationFacts.self, from: Data(payload.utf8))
    }
}

/// The tokens one model used over a workflow's evaluation, from the answers' own counts.
public struct TokenUsage: Sendable, Codable, Equatable {
    /// `base` or `custom`.
    public var model: String
    public var inputTokens: Int
    public var outputTokens: Int
    /// Answers whose service reported no counts (not summed).
    public var uncounted: Int

    public static func sum(_ answers: [InferenceAnswer]) -> [TokenUsage] {
        Dictionary(grouping: answers.filter { $0.output != nil }, by: \.model).map { model, answers in
            let counted = answers.filter { $0.inputTokens != nil && $0.outputTokens != nil }
            return TokenUsage(
                model: model, inputTokens: counted.reduce(0) { $0 + ($1.inputTokens ?? 0) },
                outputTokens: counted.reduce(0) { $0 + ($1.outputTokens ?? 0) }, uncounted: answers.count - counted.count)
        }.sorted { $0.model < $1.model }
    }
}
