import Foundation

/// Reads the metric files a Bedrock customization job writes (and the local backend writes
/// in the same shape): `step_wise_training_metrics.csv` (step_number, epoch_number,
/// training_loss, perplexity) and `validation_metrics.csv` (step_number, epoch_number,
/// validation_loss, …). Columns are found by name, so an extra or reordered column does not
/// shift the numbers.
public enum TrainingMetricsCSV {
    public static let stepWiseName = "step_wise_training_metrics.csv"
    public static let validationName = "validation_metrics.csv"

    /// One entry per epoch: the mean training loss of its steps, and the last validation
    /// loss reported for it. Epochs are numbered from 1 as the files number them (Bedrock
    /// writes 0-based epochs for some models; those are shifted to 1-based).
    public static func epochs(stepWise: String, validation: String?) -> [EpochMetrics] {
        let training = rows(stepWise, value: "training_loss")
        guard !training.isEmpty else { return [] }
        var sums: [Int: (total: Double, count: Int)] = [:]
        for (epoch, loss) in training {
            let old = sums[epoch] ?? (0, 0)
            sums[epoch] = (old.total + loss, old.count + 1)
        }
        var validationLoss: [Int: Double] = [:]
        for (epoch, loss) in rows(validation ?? "", value: "validation_loss") { validationLoss[epoch] = loss }
        let shift = sums.keys.contains(0) ? 1 : 0
        let last = sums.keys.max()
        // A Bedrock job's custom model is its last epoch's weights.
        return sums.keys.sorted().map { epoch in
            EpochMetrics(
                epoch: epoch + shift, trainingLoss: sums[epoch]!.total / Double(sums[epoch]!.count),
                validationLoss: validationLoss[epoch], kept: epoch == last)
        }
    }

    /// One loss reported at a training step.
    public struct StepLoss: Sendable, Equatable {
        public var step: Int
        public var epoch: Int
        public var loss: Double

        public init(step: Int, epoch: Int, loss: Double) {
            self.step = step
            self.epoch = epoch
            self.loss = loss
        }
    }

    /// Every step's training loss (`column` "training_loss") or every validation loss
    /// ("validation_loss"), in the file's order, epochs 1-based as in `epochs`. A line without
    /// a usable step, epoch or value is skipped, as in `rows`.
    public static func steps(_ text: String, value column: String) -> [StepLoss] {
        var lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        guard !lines.isEmpty else { return [] }
        let header = lines.removeFirst().map { $0.lowercased() }
        guard let stepColumn = header.firstIndex(of: "step_number"), let epochColumn = header.firstIndex(of: "epoch_number"),
            let valueColumn = header.firstIndex(of: column)
        else { return [] }
        let parsed: [StepLoss] = lines.compactMap { fields in
            guard fields.count > max(stepColumn, epochColumn, valueColumn), let step = Self.epoch(fields[stepColumn]),
                let epoch = Self.epoch(fields[epochColumn]), let value = Double(fields[valueColumn]), value.isFinite, abs(value) < 1e12
            else { return nil }
            return StepLoss(step: step, epoch: epoch, loss: value)
        }
        let shift = parsed.contains { $0.epoch == 0 } ? 1 : 0
        return parsed.map { StepLoss(step: $0.step, epoch: $0.epoch + shift, loss: $0.loss) }
    }

    /// (epoch, value) for each data line that has both as numbers.
    static func rows(_ text: String, value column: String) -> [(Int, Double)] {
        var lines = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        guard !lines.isEmpty else { return [] }
        let header = lines.removeFirst().map { $0.lowercased() }
        guard let epochColumn = header.firstIndex(of: "epoch_number"), let valueColumn = header.firstIndex(of: column) else { return [] }
        // The file comes from outside: `nan`, `inf` or `1e300` as an epoch once trapped the
        // daemon converting it to Int. Epochs are whole numbers in a plausible range, losses
        // finite; anything else is skipped.
        return lines.compactMap { fields in
            guard fields.count > max(epochColumn, valueColumn), let epoch = Self.epoch(fields[epochColumn]),
                let value = Double(fields[valueColumn]), value.isFinite, abs(value) < 1e12
            else { return nil }
            return (epoch, value)
        }
    }

    static let maxEpoch = 100_000

    static func epoch(_ text: String) -> Int? {
        let number = Int(text) ?? Double(text).flatMap { $0.isFinite ? Int(exactly: $0) : nil }
        guard let number, (0...maxEpoch).contains(number) else { return nil }
        return number
    }
}
