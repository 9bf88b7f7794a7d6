import FinetunedEvaluation
import FinetunedText
import Foundation

/// What a customization job's hyperparameters mean to the local family.
public struct TrainingSettings: Sendable, Equatable, Codable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    /// Epochs without a better validation loss before training stops early.
    public var patience: Int
    public var evalPercentage: Double
    public var seed: UInt64
    public var hidden: Int = 32
    public var weightDecay: Float = 1e-4

    public init(
        epochs: Int = 8, batchSize: Int = 16, learningRate: Float = 0.05, patience: Int = 3,
        evalPercentage: Double = 20, seed: UInt64 = 1
    ) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.patience = patience
        self.evalPercentage = evalPercentage
        self.seed = seed
    }

    /// Reads the job's hyperparameters (strings, as Bedrock takes them). The adapter's schema
    /// has checked them already; a value that still does not parse is the job's failure.
    public init(hyperparameters: [String: String], seed: UInt64) throws(Failure) {
        func number(_ key: String, _ fallback: Double) throws(Failure) -> Double {
            guard let text = hyperparameters[key] else { return fallback }
            guard let value = Double(text), value.isFinite else { throw Failure(.training, "hyperparameter \(key)=\(text) is not a number") }
            return value
        }
        self.init(
            epochs: Int(try number("epochCount", 8)), batchSize: Int(try number("batchSize", 16)),
            learningRate: Float(try number("learningRate", 0.05)),
            patience: Int(try number("earlyStoppingPatience", 3)),
            evalPercentage: try number("evalPercentage", 20), seed: seed)
        guard epochs >= 1, batchSize >= 1, learningRate > 0, patience >= 1, (0..<100).contains(evalPercentage) else {
            throw Failure(
                .training,
                "hyperparameters out of range: epochCount \(epochs), batchSize \(batchSize), learningRate \(learningRate), earlyStoppingPatience \(patience), evalPercentage \(evalPercentage)"
            )
        }
    }
}

/// One training record, featurised: the document's rows and the oracle's labels.
public struct TrainingExample: Sendable, Equatable {
    public var rows: [[Float]]
    public var labels: [Float]
    public var completionWords: Int

    public init(rows: [[Float]], labels: [Float], completionWords: Int) {
        self.rows = rows
        self.labels = labels
        self.completionWords = completionWords
    }
}

public struct EpochLoss: Sendable, Equatable, Codable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationLoss: Double
}

public struct StepLoss: Sendable, Equatable, Codable {
    public var step: Int
    public var epoch: Int
    public var loss: Double
}

/// Everything needed to continue training after the last finished epoch: the weights, the
/// optimizer's moments, the best weights so far and the history. Saved after every epoch;
/// a resumed run continues exactly as an uninterrupted one would (shuffles are seeded by
/// epoch), which the tests check.
public struct TrainingCheckpoint: Sendable, Equatable, Codable {
    public var settings: TrainingSettings
    public var head: ScoringHead
    public var best: ScoringHead
    public var bestEpoch: Int
    public var bestValidationLoss: Double
    public var firstMoment: [Float]
    public var secondMoment: [Float]
    public var updates: Int
    public var epochs: [EpochLoss]
    public var steps: [StepLoss]
    /// Why training ended, once it has.
    public var stopReason: String?

    public var epochsDone: Int { epochs.count }
    public var finished: Bool { stopReason != nil }
}

/// Trains the scoring head with mini-batch Adam on binary cross-entropy against the oracle's
/// labels, holding out `evalPercentage` of the records (chosen by the seed) for validation.
public struct HeadTrainer: Sendable {
    public let examples: [TrainingExample]
    public let trainingIndices: [Int]
    public let validationIndices: [Int]
    let inputs: Int

    public init(examples: [TrainingExample], settings: TrainingSettings) throws(Failure) {
        guard examples.count >= 2 else { throw Failure(.training, "training needs at least 2 records with sentences, got \(examples.count)") }
        guard let width = examples.first?.rows.first?.count else { throw Failure(.training, "the first record has no sentences") }
        self.examples = examples
        inputs = width
        var random = SplitMix64(seed: settings.seed ^ 0x5EED)
        var order = Array(examples.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.nextInt(below: i + 1)) }
        let held = min(examples.count - 1, max(1, Int((Double(examples.count) * settings.evalPercentage / 100).rounded())))
        validationIndices = Array(order.prefix(held)).sorted()
        trainingIndices = Array(order.dropFirst(held)).sorted()
    }

    public func start(_ settings: TrainingSettings) -> TrainingCheckpoint {
        let head = ScoringHead(inputs: inputs, hidden: settings.hidden, seed: settings.seed)
        return TrainingCheckpoint(
            settings: settings, head: head, best: head, bestEpoch: 0, bestValidationLoss: .infinity,
            firstMoment: [Float](repeating: 0, count: head.parameterCount),
            secondMoment: [Float](repeating: 0, count: head.parameterCount), updates: 0, epochs: [], steps: [], stopReason: nil)
    }

    /// Runs the next epoch and records its losses; sets `stopReason` when training is over.
    public func runEpoch(_ checkpoint: inout TrainingCheckpoint) -> EpochLoss {
        let settings = checkpoint.settings
        let epoch = checkpoint.epochsDone + 1
        var random = SplitMix64(seed: settings.seed &+ UInt64(epoch) &* 0x9E37)
        var order = trainingIndices
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, random.nextInt(below: i + 1)) }

        var lossSum = 0.0, rowsSeen = 0
        var start = 0
        while start < order.count {
            let batch = order[start..<min(start + settings.batchSize, order.count)]
            start += settings.batchSize
            var gradient = [Float](repeating: 0, count: checkpoint.head.parameterCount)
            var batchLoss = 0.0, batchRows = 0
            for index in batch {
                let example = examples[index]
                for (row, label) in zip(example.rows, example.labels) {
                    let (logit, activations) = checkpoint.head.forward(row)
                    let p = Self.sigmoid(logit)
                    batchLoss += Self.crossEntropy(p: p, label: label)
                    checkpoint.head.accumulateGradient(row, activations: activations, delta: p - label, into: &gradient)
                    batchRows += 1
                }
            }
            guard batchRows > 0 else { continue }
            adamStep(&checkpoint, gradient: gradient, scale: 1 / Float(batchRows))
            lossSum += batchLoss
            rowsSeen += batchRows
            checkpoint.steps.append(StepLoss(step: checkpoint.updates, epoch: epoch, loss: batchLoss / Double(batchRows)))
        }

        let result = EpochLoss(
            epoch: epoch, trainLoss: rowsSeen > 0 ? lossSum / Double(rowsSeen) : 0,
            validationLoss: loss(of: checkpoint.head, on: validationIndices))
        checkpoint.epochs.append(result)
        if result.validationLoss < checkpoint.bestValidationLoss - 1e-6 {
            checkpoint.bestValidationLoss = result.validationLoss
            checkpoint.best = checkpoint.head
            checkpoint.bestEpoch = epoch
        }
        if epoch - checkpoint.bestEpoch >= settings.patience {
            checkpoint.stopReason =
                "early stop: no better validation loss for \(settings.patience) epochs (best \(String(format: "%.4f", checkpoint.bestValidationLoss)) at epoch \(checkpoint.bestEpoch))"
        } else if epoch >= settings.epochs {
            checkpoint.stopReason =
                "finished \(settings.epochs) epochs (best validation loss \(String(format: "%.4f", checkpoint.bestValidationLoss)) at epoch \(checkpoint.bestEpoch))"
        }
        return result
    }

    /// Mean cross-entropy of `head` over the sentences of the given records.
    public func loss(of head: ScoringHead, on indices: [Int]) -> Double {
        var sum = 0.0, rows = 0
        for index in indices {
            for (row, label) in zip(examples[index].rows, examples[index].labels) {
                sum += Self.crossEntropy(p: Self.sigmoid(head.score(row)), label: label)
                rows += 1
            }
        }
        return rows > 0 ? sum / Double(rows) : 0
    }

    private func adamStep(_ checkpoint: inout TrainingCheckpoint, gradient: [Float], scale: Float) {
        let settings = checkpoint.settings
        let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8
        checkpoint.updates += 1
        let t = Float(checkpoint.updates)
        let correction1 = 1 - powf(beta1, t), correction2 = 1 - powf(beta2, t)
        var update = [Float](repeating: 0, count: gradient.count)
        let weightCount = checkpoint.head.w1.count
        let parameters = Self.flatten(checkpoint.head)
        for i in gradient.indices {
            let g = gradient[i] * scale
            checkpoint.firstMoment[i] = beta1 * checkpoint.firstMoment[i] + (1 - beta1) * g
            checkpoint.secondMoment[i] = beta2 * checkpoint.secondMoment[i] + (1 - beta2) * g * g
            let step = (checkpoint.firstMoment[i] / correction1) / ((checkpoint.secondMoment[i] / correction2).squareRoot() + epsilon)
            // Decoupled weight decay on the first layer's weights only.
            let decay = i < weightCount ? settings.weightDecay * parameters[i] : 0
            update[i] = settings.learningRate * (step + decay)
        }
        checkpoint.head.apply(update)
    }

    static func flatten(_ head: ScoringHead) -> [Float] { head.w1 + head.b1 + head.w2 + [head.b2] }

    static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    static func crossEntropy(p: Float, label: Float) -> Double {
        let clamped = Double(min(max(p, 1e-7), 1 - 1e-7))
        return -(Double(label) * log(clamped) + Double(1 - label) * log(1 - clamped))
    }
}
