import FinetunedWorkflow
import Foundation
import Logging

/// One customization job's training, from the uploaded file to a saved custom model. It runs
/// on the backend's training thread and reports only through the job's record on disk and
/// the journal, so whatever happens to the process, the record tells the truth: a job found
/// `InProgress` with no training behind it is resumed from its last saved epoch.
struct TrainingRun: Sendable {
    let directory: LocalDirectory
    let jobName: String
    let encoder: SentenceEncoder
    let stop: StopSignal
    let logger: Logger
    /// Called after each saved epoch (tests use it to crash the daemon mid-training).
    let afterEpoch: @Sendable (Int) -> Void

    func run() {
        do {
            try train()
        } catch {
            logger.error("local training job \(jobName) failed: \(error)", metadata: ["job": "\(jobName)"])
            try? directory.updateJob(jobName) {
                $0.status = .failed
                $0.message = ErrorWords.of(error)
                $0.endedAt = Date()
            }
        }
    }

    private func train() throws {
        guard let job = try directory.job(named: jobName) else { return }
        guard job.status == .inProgress else { return }
        var metadata: Logger.Metadata = ["job": "\(jobName)"]
        if let workflow = job.tags["finetuned:workflow-id"] { metadata["workflow_id"] = "\(workflow)" }
        let folder = directory.jobFolder(jobName)
        let settings = try TrainingSettings(hyperparameters: job.hyperparameters, seed: Self.seed(job.token))

        let cache = folder + "/features.bin"
        let examples: [TrainingExample]
        if let cached = TrainingData.load(from: cache) {
            examples = cached
        } else {
            let records = try TrainingData.records(jsonl: job.trainingData)
            try note("Featurizing 0/\(records.count) records")
            var reported = Date()
            guard
                let made = try TrainingData.examples(
                    records, encoder: encoder,
                    progress: { done, total in
                        if Date().timeIntervalSince(reported) >= 1 || done == total {
                            reported = Date()
                            try? note("Featurizing \(done)/\(total) records")
                        }
                    }, shouldStop: { stop.requested })
            else { return stopped() }
            examples = made
            try TrainingData.save(examples, to: cache)
            logger.info("local job \(jobName): \(examples.count) records featurised", metadata: metadata)
        }

        let trainer = try HeadTrainer(examples: examples, settings: settings)
        var checkpoint: TrainingCheckpoint
        let checkpointPath = folder + "/checkpoint.json"
        if let saved: TrainingCheckpoint = try directory.read(checkpointPath), saved.settings == settings {
            checkpoint = saved
            logger.notice("local job \(jobName): resuming after epoch \(saved.epochsDone) of \(settings.epochs)", metadata: metadata)
        } else {
            checkpoint = trainer.start(settings)
            logger.info(
                "local job \(jobName): training on \(trainer.trainingIndices.count) records, validating on \(trainer.validationIndices.count)",
                metadata: metadata)
        }

        while !checkpoint.finished {
            if stop.requested { return stopped() }
            let epoch = trainer.runEpoch(&checkpoint)
            try directory.write(checkpoint, to: checkpointPath)
            try directory.write(checkpoint.epochs, to: folder + "/" + LocalDirectory.epochsFile)
            try AtomicFile.write(Data(TrainingMetricsFiles.stepWiseCSV(checkpoint).utf8), to: folder + "/" + TrainingMetricsFiles.stepWise)
            try AtomicFile.write(Data(TrainingMetricsFiles.validationCSV(checkpoint).utf8), to: folder + "/" + TrainingMetricsFiles.validation)
            var fields = metadata
            fields["epoch"] = "\(epoch.epoch)"
            fields["train_loss"] = "\(String(format: "%.6f", epoch.trainLoss))"
            fields["validation_loss"] = "\(String(format: "%.6f", epoch.validationLoss))"
            logger.info(
                "local job \(jobName): epoch \(epoch.epoch)/\(settings.epochs) train loss \(String(format: "%.4f", epoch.trainLoss)), validation loss \(String(format: "%.4f", epoch.validationLoss))",
                metadata: fields)
            try note(
                "Training: epoch \(epoch.epoch)/\(settings.epochs), train loss \(String(format: "%.4f", epoch.trainLoss)), validation loss \(String(format: "%.4f", epoch.validationLoss))"
            )
            afterEpoch(epoch.epoch)
        }

        let provenance = TrainingProvenance(
            job: jobName, records: examples.count, trainingRecords: trainer.trainingIndices.count,
            validationRecords: trainer.validationIndices.count, epochs: checkpoint.epochsDone,
            bestEpoch: checkpoint.bestEpoch, bestValidationLoss: checkpoint.bestValidationLoss)
        let model = ExtractiveModel(head: checkpoint.best, defaultBudgetWords: TrainingData.learnedBudget(examples), trainedOn: provenance)
        let arn = directory.modelARN(job.customModelName)
        try directory.save(LocalModel(name: job.customModelName, arn: arn, job: jobName, model: model))
        try directory.updateJob(jobName) {
            $0.status = .completed
            $0.customModelARN = arn
            $0.message = checkpoint.stopReason
            $0.endedAt = Date()
        }
        logger.info("local job \(jobName) completed: \(checkpoint.stopReason ?? ""); budget \(model.defaultBudgetWords) words", metadata: metadata)
    }

    private func note(_ message: String) throws {
        try directory.updateJob(jobName) { if $0.status == .inProgress { $0.message = message } }
    }

    private func stopped() {
        try? directory.updateJob(jobName) {
            $0.status = .stopped
            $0.message = "stopped on request"
            $0.endedAt = Date()
        }
        logger.notice("local job \(jobName) stopped on request", metadata: ["job": "\(jobName)"])
    }

    /// A job's seed comes from its client token: the same request trains the same model.
    static func seed(_ token: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in token.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
