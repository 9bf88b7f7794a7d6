import FinetunedEvaluation
import FinetunedLocalBackend
import FinetunedTestSupport
import Foundation

/// The local backend's training and serving on the shipped examples: how long featurising,
/// training and answering take, and what the decision would see (mean BERTScore F1 of the
/// base and the custom model against the references) for the good and the poor set.
enum LocalBackendBenchmark {
    static func run(modelDirectory: String, examples: String) throws {
        let clock = ContinuousClock()
        let encoder = try BERTEncoder(modelFile: modelDirectory + "/model.safetensors")
        let tokenizer = try WordPieceTokenizer(vocabularyFile: modelDirectory + "/vocab.txt")
        let sentences = SentenceEncoder(encoder: encoder, tokenizer: tokenizer)
        let scorer = BERTScorer(encoder: encoder, tokenizer: tokenizer, layer: 6)
        let evaluation = try EvaluationSet.load(path: examples + "/summaries-eval.jsonl")
        print("local backend on examples/ (\(evaluation.count) evaluation prompts):")

        var references: [SentenceEmbedding] = []
        for item in evaluation { references.append(try scorer.embed(item.reference)) }
        var documents: [DocumentFeatures] = []
        let featurise = try clock.measure {
            documents = try evaluation.map { try DocumentFeatures(document: $0.prompt, encoder: sentences) }
        }
        let baseF1 = try meanF1(model: .base, documents: documents, references: references, scorer: scorer)
        print("  evaluation prompts featurised in \(BenchMain.format(featurise)); base model mean F1 \(String(format: "%.4f", baseF1))")

        for set in ["summaries-train.jsonl", "summaries-poor.jsonl"] {
            let records = try TrainingData.records(jsonl: examples + "/" + set)
            var made: [TrainingExample] = []
            let featuriseTraining = try clock.measure {
                made = try TrainingData.examples(records, encoder: SentenceEncoder(encoder: encoder, tokenizer: tokenizer)) ?? []
            }
            let settings = TrainingSettings()
            let trainer = try HeadTrainer(examples: made, settings: settings)
            var checkpoint = trainer.start(settings)
            let training = clock.measure {
                while !checkpoint.finished { _ = trainer.runEpoch(&checkpoint) }
            }
            let model = ExtractiveModel(head: checkpoint.best, defaultBudgetWords: TrainingData.learnedBudget(made), trainedOn: nil)
            let customF1 = try meanF1(model: model, documents: documents, references: references, scorer: scorer)
            let losses = checkpoint.epochs.map { String(format: "%.3f/%.3f", $0.trainLoss, $0.validationLoss) }.joined(separator: " ")
            print(
                "  \(set): \(records.count) records featurised in \(BenchMain.format(featuriseTraining)), \(checkpoint.epochsDone) epochs in \(BenchMain.format(training))"
            )
            print("    loss per epoch (train/validation): \(losses)")
            print(
                "    custom model mean F1 \(String(format: "%.4f", customF1)) vs base \(String(format: "%.4f", baseF1)), budget \(model.defaultBudgetWords) words"
            )
        }
    }

    static func meanF1(model: ExtractiveModel, documents: [DocumentFeatures], references: [SentenceEmbedding], scorer: BERTScorer) throws -> Double {
        var sum = 0.0
        for (document, reference) in zip(documents, references) {
            let summary = model.summarize(document, budgetWords: nil)
            sum += Double(scorer.score(try scorer.embed(summary.text), reference).f1)
        }
        return sum / Double(max(1, documents.count))
    }
}
