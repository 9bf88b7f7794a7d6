import FinetunedConfig
import FinetunedLocalBackend
import FinetunedReport
import FinetunedWorkflow
import Foundation

/// What the daemon asks of a model worker, one JSON line each on the worker's standard input.
/// Requests are answered in order, one reply line each on its standard output, except
/// `train`, which reports each saved epoch and waits for `proceed` before the next, then
/// ends with `trainingEnded`; `stop` and `proceed` may arrive while it trains.
enum ModelWorkerRequest: Codable, Sendable, Equatable {
    /// Load the encoder, its hash checked, and the custom model in `modelFile` if named.
    case prepare(modelFile: String?)
    /// Summarize with the custom model in `modelFile`, or the base model when nil.
    case summarize(modelFile: String?, document: String, budgetWords: Int?)
    /// Read the evaluation set and leave out the prompts the training data contains.
    case plan(evaluationSet: String, trainingFile: String)
    case score(plan: EvaluationPlan, base: [String?], custom: [String?], settings: EvaluationSettings)
    case train(LocalTrainingTarget)
    /// Go on after the epoch just reported.
    case proceed
    /// Stop the training at its next record or epoch boundary.
    case stop
    /// Draw the workflow's report.html into its archive folder.
    case writeReport(ReportRequest)
}

enum ModelWorkerReply: Codable, Sendable, Equatable {
    case prepared
    case summary(String)
    case planned(EvaluationPlan)
    case scored(EvaluationResult)
    case epochSaved(Int)
    case trainingEnded
    case reportWritten(path: String)
    /// The request could not be done; the worker goes on with the next.
    case failed(String)
}

/// The one-line JSON form both ends use.
enum ModelWorkerCoding {
    static func line(_ value: some Encodable) throws -> [UInt8] {
        var bytes = Array(try JSONEncoder().encode(value))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    static func decode<T: Decodable>(_ type: T.Type, from line: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(line))
    }
}
