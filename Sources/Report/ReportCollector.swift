import FinetunedValidation
import FinetunedWorkflow
import Foundation

/// Completes a workflow's report with what its archive folder holds (`inference.jsonl`, the
/// job's metric files, the validation report), around what the store said (`ReportRequest`).
/// Every file is the daemon's own, but it is read as if it were not: a missing or unreadable
/// one leaves its part of the report empty, never fails it.
public struct ReportCollector: Sendable {
    public let request: ReportRequest
    var archiveFolder: String { request.archiveFolder }

    public init(_ request: ReportRequest) {
        self.request = request
    }

    public func collect() -> WorkflowReport {
        let r = request
        return WorkflowReport(
            workflowID: r.workflowID, profile: r.profile, dropName: r.dropName, baseModel: r.baseModel, verdict: r.verdict,
            sentence: Self.sentence(r.verdict, scores: r.scores, failure: r.failure), scores: r.scores,
            prompts: Self.prompts(file: archiveFolder + "/inference.jsonl"), epochs: r.trainingLoss,
            trainingSteps: TrainingMetricsCSV.steps(read(TrainingMetricsCSV.stepWiseName), value: "training_loss"),
            validationSteps: TrainingMetricsCSV.steps(read(TrainingMetricsCSV.validationName), value: "validation_loss"),
            validation: readJSON(ValidationReport.self, ReportFiles.validationReport), stages: r.stages, resources: r.resources,
            files: files(), archiveFolder: archiveFolder, failure: r.failure, generatedAt: r.generatedAt)
    }

    /// The verdict and the rule that gave it, with the numbers.
    static func sentence(_ verdict: WorkflowReport.Verdict, scores: ScoreSummary?, failure: String?) -> String {
        guard let s = scores else {
            switch verdict {
            case .failed: return "Failed after training: \(failure ?? "no reason was recorded"). Nothing was scored."
            case .cancelled: return "Cancelled before the models were compared."
            default: return "No scores were recorded."
            }
        }
        let figures = String(
            format:
                "the custom model's mean BERTScore F1 is %.3f against the base model's %.3f (%+.3f; 95%% interval of the gain %+.3f to %+.3f) over %d prompts, and it wins in %.1f%% of the bootstrap resamples",
            s.meanCustomF1, s.meanBaseF1, s.meanCustomF1 - s.meanBaseF1, s.confidenceLow, s.confidenceHigh, s.prompts, s.winShare * 100)
        let lead: String
        switch verdict {
        case .kept: lead = "Kept:"
        case .notKept: lead = "Not kept:"
        case .inconclusive: lead = "Inconclusive, not kept:"
        case .failed: lead = "Failed after scoring (\(failure ?? "no reason recorded")):"
        case .cancelled: lead = "Cancelled after scoring:"
        }
        return "\(lead) \(figures). The rule: \(s.reason)."
    }

    /// Time spent in each phase, from the stage each event records; consecutive stages of one
    /// phase merge into one span.
    public static func spans(_ events: [WorkflowEvent], until now: Date) -> [WorkflowReport.StageSpan] {
        var entries: [(stage: WorkflowStage, at: Date)] = []
        for event in events where entries.last?.stage != event.stage { entries.append((event.stage, event.at)) }
        var spans: [WorkflowReport.StageSpan] = []
        for (i, entry) in entries.enumerated() {
            guard let phase = WorkflowReport.Phase(entry.stage) else { continue }
            let end = i + 1 < entries.count ? entries[i + 1].at : now
            if let last = spans.last, last.phase == phase, last.end == entry.at {
                spans[spans.count - 1].end = end
            } else {
                spans.append(WorkflowReport.StageSpan(phase: phase, start: entry.at, end: end))
            }
        }
        return spans
    }

    /// `inference.jsonl`: one line per prompt, written by the engine after scoring.
    static func prompts(file: String) -> [WorkflowReport.PromptResult] {
        guard let data = FileManager.default.contents(atPath: file) else { return [] }
        struct Line: Decodable {
            var index: Int
            var line: Int?
            var prompt: String
            var reference: String
            var base: String?
            var custom: String?
            var baseF1: Double?
            var customF1: Double?
            enum CodingKeys: String, CodingKey {
                case index, line, prompt, reference, base, custom
                case baseF1 = "base_f1"
                case customF1 = "custom_f1"
            }
        }
        let decoder = JSONDecoder()
        return data.split(separator: UInt8(ascii: "\n")).compactMap { bytes in
            guard let l = try? decoder.decode(Line.self, from: Data(bytes)) else { return nil }
            // BERTScore F1 is a cosine, -1…1 (1.0000001 for identical texts, in floating point).
            func score(_ value: Double?) -> Double? { value.flatMap { $0.isFinite && abs($0) <= 1.5 ? $0 : nil } }
            return WorkflowReport.PromptResult(
                index: l.index, line: l.line ?? 0, prompt: l.prompt, reference: l.reference, base: l.base, custom: l.custom,
                baseF1: score(l.baseF1), customF1: score(l.customF1))
        }
    }

    /// The archive's files as they will be once the workflow has finished: the training data
    /// moves in at the end, except for a failed workflow, whose data waits in the spool for a retry.
    func files() -> [WorkflowReport.ArchivedFile] {
        let failed = request.verdict == .failed
        let known: [(String, String)] =
            [
                (ReportFiles.report, "this report"),
                (ArchiveNames.training, failed ? "the training data (in the spool until a retry or a cancel)" : "the training data"),
                ("validation-report.txt", "the validation report, for people"),
                (ReportFiles.validationReport, "the validation report, for machines"),
                ("inference.jsonl", "every prompt with both answers and both scores"),
                ("scores.json", "the summary and the per-prompt scores"),
                (TrainingMetricsCSV.stepWiseName, "the job's training loss per step"),
                (TrainingMetricsCSV.validationName, "the job's validation loss"),
            ] + ArchiveNames.companions.map { ($0.name, "a set or the sidecar the drop brought") }
        // The end of the workflow moves the drop's companions from the spool beside the data.
        let spoolPath = request.spoolPath
        let moving = Set(ArchiveNames.spoolCompanions(of: spoolPath).filter { FileManager.default.fileExists(atPath: $0.path) }.map(\.name))
        return known.compactMap { name, what in
            let path = archiveFolder + "/" + name
            let bytes = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
            let expected =
                name == ReportFiles.report || (!failed && (name == ArchiveNames.training || moving.contains(name)))
            guard bytes != nil || expected else { return nil }
            return WorkflowReport.ArchivedFile(
                name: name, bytes: bytes, what: name == ArchiveNames.training && failed ? what + ": " + spoolPath : what)
        }
    }

    private func read(_ name: String) -> String {
        FileManager.default.contents(atPath: archiveFolder + "/" + name).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private func readJSON<T: Decodable>(_ type: T.Type, _ name: String) -> T? {
        FileManager.default.contents(atPath: archiveFolder + "/" + name).flatMap { try? JSONDecoder().decode(T.self, from: $0) }
    }
}

/// Names of the report's files in a workflow's archive folder.
public enum ReportFiles {
    public static let report = "report.html"
    /// Written by admission beside `validation-report.txt`.
    public static let validationReport = "validation-report.json"
}
