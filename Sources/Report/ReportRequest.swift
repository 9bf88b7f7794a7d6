import FinetunedWorkflow
import Foundation

/// What only the store knows about a workflow's report: its record's facts, its phases and its
/// resources. The daemon gathers this (a few store reads) and hands it to a model worker, which
/// reads the archive's files and draws the page (`ReportWriter`): the page's code and its
/// buffers never become resident in the daemon, which stays at rest for months.
public struct ReportRequest: Sendable, Codable, Equatable {
    public var workflowID: String
    public var profile: String
    public var dropName: String
    public var baseModel: String?
    public var verdict: WorkflowReport.Verdict
    public var scores: ScoreSummary?
    public var failure: String?
    /// Where the drop is now (a failed workflow keeps it in the spool for a retry).
    public var spoolPath: String
    public var trainingLoss: [EpochMetrics]
    public var stages: [WorkflowReport.StageSpan]
    public var resources: [ResourceRecord]
    public var archiveFolder: String
    public var generatedAt: Date

    /// Nil when there is nothing to report: the workflow ended before a job was created.
    public static func gather(
        record: WorkflowRecord, outcome: WorkflowMachine.Outcome, trainingLoss: [EpochMetrics], archiveFolder: String,
        store: any WorkflowStore, now: Date = Date()
    ) async throws -> ReportRequest? {
        let c = record.context
        guard c.jobARN != nil || c.scores != nil else { return nil }
        let events = try await store.events(workflowID: record.id)
        return ReportRequest(
            workflowID: record.id, profile: record.profile, dropName: record.dropName, baseModel: c.spec?.baseModel,
            verdict: WorkflowReport.Verdict(outcome, scores: c.scores), scores: c.scores, failure: c.failureReason,
            spoolPath: record.spoolPath, trainingLoss: trainingLoss, stages: ReportCollector.spans(events, until: now),
            resources: try await store.resources(workflowID: record.id), archiveFolder: archiveFolder, generatedAt: now)
    }
}

extension WorkflowReport.Verdict {
    init(_ outcome: WorkflowMachine.Outcome, scores: ScoreSummary?) {
        switch outcome {
        case .kept: self = .kept
        case .notKept: self = scores?.verdict == "inconclusive" ? .inconclusive : .notKept
        case .failed: self = .failed
        case .cancelled: self = .cancelled
        }
    }
}
