import FinetunedText
import FinetunedWorkflow
import Foundation
import Logging

/// `backend = "local"`: a `CustomizationBackend` that trains and serves the extractive
/// summarizer on this machine, for free rehearsals of a profile and for CI.
///
/// It behaves like Bedrock wherever the engine depends on it: client tokens are idempotent,
/// names are unique, deleting what is gone is not an error, and every resource is a file
/// under `root`, so a restarted daemon finds what the previous process created. Training
/// and inference run wherever `compute` puts them (the daemon: a worker process); a job found
/// `InProgress` with nothing running it resumes from its last saved epoch, and the
/// "provisioned throughput" is the custom model, served by that compute.
public actor LocalBackend: CustomizationBackend {
    /// The base models this backend serves, by model id.
    public static let baseModels: Set<String> = ["local.minilm-extractive-v1"]

    let directory: LocalDirectory
    let compute: any LocalCompute
    let logger: Logger
    private var running: [String: StopSignal] = [:]
    /// Throughputs in service: the model file each one serves.
    private var served: [String: String] = [:]
    /// Its jobs and models live in this host's state directory: no other node can reach them.
    public nonisolated var trainsOnThisHost: Bool { true }

    /// - Parameters:
    ///   - root: the backend's folder (`<state>/local/<backend name>`).
    public init(name: String, root: String, compute: any LocalCompute, logger: Logger) {
        directory = LocalDirectory(root: root, backend: name)
        self.compute = compute
        self.logger = logger
    }

    /// A backend whose work runs on threads of this process.
    ///   - encoderProvider: the frozen MiniLM encoder, loaded (and its hash checked) on first use.
    public init(
        name: String, root: String, encoderProvider: @escaping @Sendable () throws -> SentenceEncoder,
        logger: Logger, afterEpoch: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.init(
            name: name, root: root, compute: InProcessCompute(encoderProvider: encoderProvider, logger: logger, afterEpoch: afterEpoch),
            logger: logger)
    }

    // MARK: - Upload

    public func putTrainingData(_ upload: TrainingUpload) async throws(BackendError) -> String {
        guard ResourceName.isSafe(upload.profile), ResourceName.isSafe(upload.workflowID) else {
            throw .permanent("ValidationException: unsafe profile or workflow name for a local upload")
        }
        let folder = "\(directory.uploads)/\(upload.profile)/\(upload.workflowID)"
        let target = folder + "/training.jsonl"
        return try attempt("upload") {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            guard let data = FileManager.default.contents(atPath: upload.localPath) else {
                throw BackendError.permanent("cannot read the training data at \(upload.localPath)")
            }
            try AtomicFile.write(data, to: target)
            return "file://" + target
        }
    }

    // MARK: - Jobs

    public func findJob(name: String) async throws(BackendError) -> JobState? {
        guard ResourceName.isSafe(name) else { return nil }
        guard let job = try attempt("find job", { try directory.job(named: name) }) else { return nil }
        resumeIfOrphaned(job)
        return state(job)
    }

    public func createJob(_ request: JobRequest) async throws(BackendError) -> String {
        guard ResourceName.isSafe(request.jobName), ResourceName.isSafe(request.customModelName) else {
            throw .permanent("ValidationException: job and model names must be letters, digits, '-', '_', '.' or '+'")
        }
        guard Self.baseModels.contains(request.baseModel) else {
            throw .permanent(
                "ValidationException: the local backend has no base model \(request.baseModel) (it has \(Self.baseModels.sorted().joined(separator: ", ")))"
            )
        }
        guard request.trainingDataURI.hasPrefix("file://") else {
            throw .permanent("ValidationException: training data must be a local upload, not \(request.trainingDataURI)")
        }
        let existing = try attempt("create job") { try directory.jobs() }
        if let same = existing.first(where: { $0.token == request.clientRequestToken }) { return same.arn }
        if existing.contains(where: { $0.name == request.jobName }) {
            throw .permanent("ValidationException: a job named \(request.jobName) already exists")
        }
        if existing.contains(where: { $0.customModelName == request.customModelName && $0.status != .failed && $0.status != .stopped }) {
            throw .permanent("ValidationException: a custom model named \(request.customModelName) already exists")
        }
        let job = LocalJob(
            name: request.jobName, arn: directory.jobARN(request.jobName), token: request.clientRequestToken,
            customModelName: request.customModelName, baseModel: request.baseModel,
            trainingData: String(request.trainingDataURI.dropFirst("file://".count)),
            hyperparameters: request.hyperparameters, tags: request.tags, status: .inProgress,
            message: "Queued", customModelARN: nil, createdAt: Date(), endedAt: nil)
        do {
            _ = try TrainingSettings(hyperparameters: request.hyperparameters, seed: 0)
        } catch {
            throw .permanent("ValidationException: \(ErrorWords.of(error))")
        }
        try attempt("create job") {
            try directory.makeFolders()
            try directory.save(job)
        }
        logger.info("local job \(job.name) created for model \(job.customModelName)", metadata: ["job": "\(job.name)"])
        start(job)
        return job.arn
    }

    public func job(_ arn: String) async throws(BackendError) -> JobState {
        guard let name = directory.name(in: arn, kind: "model-customization-job"),
            let job = try attempt("get job", { try directory.job(named: name) })
        else { throw .notFound("ResourceNotFoundException: no job \(arn)") }
        resumeIfOrphaned(job)
        return state(job)
    }

    public func stopJob(_ arn: String) async throws(BackendError) {
        guard let name = directory.name(in: arn, kind: "model-customization-job"),
            let job = try attempt("stop job", { try directory.job(named: name) })
        else { throw .notFound("ResourceNotFoundException: no job \(arn)") }
        guard job.status == .inProgress else { return }
        if let signal = running[name] {
            signal.request()
            try attempt("stop job") { try directory.updateJob(name) { if $0.status == .inProgress { $0.status = .stopping } } }
        } else {
            try attempt("stop job") {
                try directory.updateJob(name) {
                    $0.status = .stopped
                    $0.message = "stopped on request"
                    $0.endedAt = Date()
                }
            }
        }
    }

    /// Starts a job's training, or resumes it when this process is not running it already.
    private func start(_ job: LocalJob) {
        guard running[job.name] == nil else { return }
        let signal = StopSignal()
        running[job.name] = signal
        let target = LocalTrainingTarget(root: directory.root, backend: directory.backend, job: job.name)
        let compute = compute
        Task {
            await compute.train(target, stop: signal)
            finished(job.name)
        }
    }

    private func finished(_ name: String) { running[name] = nil }

    /// A job the record says is training, with no training in this process: the daemon was
    /// restarted. Training continues from the last saved epoch.
    private func resumeIfOrphaned(_ job: LocalJob) {
        guard job.status == .inProgress || job.status == .stopping, running[job.name] == nil else { return }
        if job.status == .stopping {
            try? directory.updateJob(job.name) {
                $0.status = .stopped
                $0.endedAt = Date()
            }
            return
        }
        logger.notice("local job \(job.name) has no training behind it (restart): resuming", metadata: ["job": "\(job.name)"])
        start(job)
    }

    private func state(_ job: LocalJob) -> JobState {
        let status: JobState.Status = job.status == .stopping && running[job.name] == nil ? .stopped : job.status
        return JobState(arn: job.arn, status: status, customModelARN: job.customModelARN, message: job.message, clientToken: job.token)
    }

    /// The epochs of the job's saved checkpoint; its metric files are copied into the archive
    /// as a Bedrock job's are.
    public func trainingMetrics(jobARN: String, archiveFolder: String) async -> [EpochMetrics] {
        guard let name = directory.name(in: jobARN, kind: "model-customization-job") else { return [] }
        let folder = directory.jobFolder(name)
        let epochs: [EpochLoss]
        if let saved: [EpochLoss] = try? directory.read(folder + "/" + LocalDirectory.epochsFile) {
            epochs = saved
        } else if let checkpoint: TrainingCheckpoint = try? directory.read(folder + "/checkpoint.json") {
            epochs = checkpoint.epochs  // a job trained before epochs.json was written
        } else {
            return []
        }
        try? FileManager.default.createDirectory(atPath: archiveFolder, withIntermediateDirectories: true)
        for file in [TrainingMetricsFiles.stepWise, TrainingMetricsFiles.validation] {
            if let data = FileManager.default.contents(atPath: directory.jobFolder(name) + "/" + file) {
                try? AtomicFile.write(data, to: archiveFolder + "/" + file)
            }
        }
        // The model keeps the best epoch's weights, by the trainer's own rule (`HeadTrainer`).
        var best: EpochLoss?
        for epoch in epochs where epoch.validationLoss < (best?.validationLoss ?? .infinity) - 1e-6 { best = epoch }
        return epochs.map {
            EpochMetrics(epoch: $0.epoch, trainingLoss: $0.trainLoss, validationLoss: $0.validationLoss, kept: $0.epoch == best?.epoch)
        }
    }

    // MARK: - Throughputs

    public func findThroughput(name: String) async throws(BackendError) -> ThroughputState? {
        guard ResourceName.isSafe(name), let record = try attempt("find throughput", { try directory.throughput(named: name) }) else { return nil }
        return ThroughputState(arn: record.arn, status: record.status, message: record.message, modelARN: record.modelARN)
    }

    public func createThroughput(_ request: ThroughputRequest) async throws(BackendError) -> String {
        guard ResourceName.isSafe(request.name) else { throw .permanent("ValidationException: unsafe throughput name \(request.name)") }
        let existing = try attempt("create throughput") { try directory.throughputs() }
        if let same = existing.first(where: { $0.token == request.clientRequestToken }) { return same.arn }
        if existing.contains(where: { $0.name == request.name }) {
            throw .permanent("ValidationException: a provisioned throughput named \(request.name) already exists")
        }
        guard let modelName = directory.name(in: request.modelARN, kind: "custom-model"),
            directory.hasModel(named: modelName)
        else { throw .permanent("ValidationException: no custom model \(request.modelARN)") }
        let record = LocalThroughput(
            name: request.name, arn: directory.throughputARN(request.name), token: request.clientRequestToken,
            modelARN: request.modelARN, status: .creating, message: nil, tags: request.tags)
        try attempt("create throughput") {
            try directory.makeFolders()
            try directory.save(record)
        }
        return record.arn
    }

    /// A `Creating` throughput comes into service once its model is loaded (and the encoder
    /// with it); the engine's poll does the loading, so a restart needs no special case.
    public func throughput(_ arn: String) async throws(BackendError) -> ThroughputState {
        guard let name = directory.name(in: arn, kind: "provisioned-model"),
            var record = try attempt("get throughput", { try directory.throughput(named: name) })
        else { throw .notFound("ResourceNotFoundException: no provisioned throughput \(arn)") }
        if record.status == .creating {
            do {
                _ = try await load(record)
                record.status = .inService
            } catch {
                record.status = .failed
                record.message = "cannot load the custom model: \(ErrorWords.of(error))"
            }
            try attempt("get throughput") { try directory.save(record) }
            logger.info("local throughput \(name): \(record.status.rawValue)", metadata: ["throughput": "\(name)"])
        }
        return ThroughputState(arn: record.arn, status: record.status, message: record.message)
    }

    public func deleteThroughput(_ arn: String) async throws(BackendError) {
        guard let name = directory.name(in: arn, kind: "provisioned-model") else { return }
        served[arn] = nil
        try attempt("delete throughput") { try directory.deleteThroughput(named: name) }
    }

    public func deleteCustomModel(_ arn: String) async throws(BackendError) {
        guard let name = directory.name(in: arn, kind: "custom-model") else { return }
        let users = try attempt("delete custom model") { try directory.throughputs() }.filter { $0.modelARN == arn }
        if !users.isEmpty {
            throw .permanent("ValidationException: the model \(arn) is in use by provisioned throughput \(users[0].name)")
        }
        try attempt("delete custom model") { try directory.deleteModel(named: name) }
    }

    // MARK: - Inference

    public func invoke(modelID: String, body: String) async throws(BackendError) -> String {
        let request: InvokeBody
        do {
            request = try InvokeBody(json: body)
        } catch {
            throw .permanent("ValidationException: \(ErrorWords.of(error))")
        }
        let modelFile: String?
        if Self.baseModels.contains(modelID) {
            modelFile = nil
        } else if let name = directory.name(in: modelID, kind: "provisioned-model") {
            guard let record = try attempt("invoke", { try directory.throughput(named: name) }) else {
                throw .notFound("ResourceNotFoundException: no provisioned throughput \(modelID)")
            }
            guard record.status == .inService else {
                throw .throttled(
                    message: "ModelNotReadyException: provisioned throughput \(name) is \(record.status.rawValue)", retryAfter: .seconds(1))
            }
            do { modelFile = try await load(record) } catch { throw .permanent("cannot load the custom model: \(ErrorWords.of(error))") }
        } else {
            throw .permanent(
                "ValidationException: the local backend serves \(Self.baseModels.sorted().joined(separator: ", ")) and its own provisioned models, not \(modelID)"
            )
        }
        do {
            return try await compute.summarize(modelFile: modelFile, document: request.document, budgetWords: request.budgetWords)
        } catch {
            throw .transient("local inference failed: \(ErrorWords.of(error))")
        }
    }

    /// The file of the model a throughput serves, loaded by the compute (with the encoder,
    /// its hash checked) as part of coming into service. The daemon never reads the weights.
    private func load(_ record: LocalThroughput) async throws -> String {
        if let file = served[record.arn] { return file }
        guard let name = directory.name(in: record.modelARN, kind: "custom-model"), directory.hasModel(named: name) else {
            throw Failure(.training, "the custom model \(record.modelARN) does not exist")
        }
        let file = directory.modelFile(name)
        try await compute.prepare(modelFile: file)
        served[record.arn] = file
        return file
    }

    /// Runs a file operation, turning a disk problem into a retryable backend failure.
    @discardableResult
    private func attempt<T>(_ what: String, _ body: () throws -> T) throws(BackendError) -> T {
        do {
            return try body()
        } catch let error as BackendError {
            throw error
        } catch {
            throw .transient("local backend, \(what): \(ErrorWords.of(error))")
        }
    }
}
