import Foundation

/// The metrics files a local job writes next to its model, shaped like the ones a Bedrock
/// job leaves in S3 (`step_wise_training_metrics.csv`: step_number, epoch_number,
/// training_loss, perplexity; `validation_metrics.csv` per epoch), so whatever reads one
/// reads the other.
public enum TrainingMetricsFiles {
    public static let stepWise = "step_wise_training_metrics.csv"
    public static let validation = "validation_metrics.csv"

    public static func stepWiseCSV(_ checkpoint: TrainingCheckpoint) -> String {
        var text = "step_number,epoch_number,training_loss,perplexity\n"
        for step in checkpoint.steps {
            text += "\(step.step),\(step.epoch),\(format(step.loss)),\(format(exp(step.loss)))\n"
        }
        return text
    }

    public static func validationCSV(_ checkpoint: TrainingCheckpoint) -> String {
        var text = "step_number,epoch_number,validation_loss,validation_perplexity\n"
        var step = 0
        for epoch in checkpoint.epochs {
            step = checkpoint.steps.last(where: { $0.epoch == epoch.epoch })?.step ?? step
            text += "\(step),\(epoch.epoch),\(format(epoch.validationLoss)),\(format(exp(epoch.validationLoss)))\n"
        }
        return text
    }

    static func format(_ value: Double) -> String { String(format: "%.6f", value) }
}
