import FinetunedReport

extension ModelServer {
    /// Has the model worker draw a workflow's report.html; returns its path. The page's code
    /// and buffers are touched there, so they never stay resident in the daemon.
    public func writeReport(_ report: ReportRequest) async throws -> String {
        let reply = try await request(.writeReport(report))
        guard case .reportWritten(let path) = reply else { throw UnexpectedReply(reply, to: "writeReport") }
        return path
    }
}
