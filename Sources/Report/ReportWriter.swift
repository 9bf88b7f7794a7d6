import Foundation

/// Writes `report.html` into a workflow's archive folder when the workflow ends, replacing the
/// file whole (a reader never sees half a report; the step that writes it may run again after
/// a crash and simply writes it again). The daemon has a model worker run it.
public enum ReportWriter {
    /// Returns the report's path.
    public static func write(_ request: ReportRequest) throws -> String {
        let report = ReportCollector(request).collect()
        try FileManager.default.createDirectory(atPath: request.archiveFolder, withIntermediateDirectories: true)
        let path = request.archiveFolder + "/" + ReportFiles.report
        try Data(ReportPage.render(report).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        return path
    }
}
