import FinetunedWorkflow
import Foundation

/// Writes `report.html` into a workflow's archive folder when the workflow ends, replacing
/// the file whole (a reader never sees half a report; the step that writes it may run again
/// after a crash and simply writes it again).
public struct ReportWriter: Sendable {
    public let store: any WorkflowStore

    public init(store: any WorkflowStore) {
        self.store = store
    }

    /// The report's path, or nil when there is nothing to report (the workflow ended before
    /// a job was created) or it could not be written.
    public func write(
        record: WorkflowRecord, outcome: WorkflowMachine.Outcome, trainingLoss: [EpochMetrics], archiveFolder: String
    ) async throws -> String? {
        guard record.context.jobARN != nil || record.context.scores != nil else { return nil }
        let report = try await ReportCollector(store: store, archiveFolder: archiveFolder).collect(
            record: record, outcome: outcome, trainingLoss: trainingLoss)
        try FileManager.default.createDirectory(atPath: archiveFolder, withIntermediateDirectories: true)
        let path = archiveFolder + "/" + ReportFiles.report
        try Data(ReportPage.render(report).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }
}
