import FinetunedConfig
import FinetunedNetwork
import FinetunedText
import FinetunedWorkflow
import Foundation
import Logging

/// The production backend: S3 for the training data, Bedrock's control plane for the job,
/// the custom model and its provisioned throughput, Bedrock's runtime for InvokeModel.
///
/// Every create carries the engine's client token, so a create repeated after a crash is a
/// no-op at the service; a name collision is resolved by looking the resource up and
/// accepting it only when it is provably ours (same token, or same model behind a
/// workflow-derived name).
public struct BedrockBackend: CustomizationBackend {
    public let name: String
    public let settings: BedrockSettings
    let s3: S3Client
    let control: BedrockClient
    let runtime: BedrockRuntimeClient
    let limiter: InvokeLimiter
    let logger: Logger
    let credentials: CredentialChain
    let sts: STSClient

    public init(
        name: String, settings: BedrockSettings, environment: [String: String] = ProcessInfo.processInfo.environment,
        credentials: CredentialChain? = nil, logger: Logger
    ) throws(Failure) {
        var environment = environment
        if let profile = settings.awsProfile { environment["AWS_PROFILE"] = profile }
        // The roles the credentials assume are asked of the STS endpoint the table names, as
        // for the other services: finetuned's configuration before the environment's.
        if let sts = settings.serviceEndpoints["sts"] ?? settings.endpointURL { environment["AWS_ENDPOINT_URL_STS"] = sts }
        let shared = try SharedConfig.load(environment: environment)
        var overrides: [AWSService: String] = [:]
        for service in [AWSService.s3, .bedrock, .bedrockRuntime, .sts] {
            if let url = settings.serviceEndpoints[service.configKey] { overrides[service] = url }
        }
        let endpoints = try AWSEndpoints(
            configuredRegion: settings.region, fips: settings.fips, configuredEndpoint: settings.endpointURL,
            configuredServiceEndpoints: overrides, configuredCABundle: settings.caFile, environment: environment,
            shared: shared)
        let chain =
            credentials
            ?? CredentialChain.standard(environment: environment) { [logger] fetched in
                // Which keys are in use, as `aws configure list` shows them: the source and the key id's end.
                let until = fetched.expiration.map { ", valid until \($0)" } ?? ""
                logger.info("backend '\(name)': AWS credentials from \(fetched.source) (key …\(fetched.credentials.accessKeyID.suffix(4)))\(until)")
            }
        self.name = name
        self.settings = settings
        self.logger = logger
        s3 = S3Client(
            client: AWSServiceClient(
                service: .s3, endpoints: endpoints, credentials: chain, http: HTTPTransport(timeout: .seconds(300), caFile: endpoints.caBundle)),
            forcePathStyle: settings.s3PathStyle, multipartThreshold: settings.multipartThresholdMiB << 20,
            partSize: settings.partSizeMiB << 20)
        control = BedrockClient(client: AWSServiceClient(service: .bedrock, endpoints: endpoints, credentials: chain))
        runtime = BedrockRuntimeClient(
            client: AWSServiceClient(
                service: .bedrockRuntime, endpoints: endpoints, credentials: chain,
                http: HTTPTransport(timeout: .seconds(120), caFile: endpoints.caBundle)))
        limiter = InvokeLimiter(maximum: settings.invokeConcurrency)
        self.credentials = chain
        sts = STSClient(endpoints: endpoints)
    }

    /// The ARN the backend's credentials act as, from STS's GetCallerIdentity.
    public func identity() async throws(BackendError) -> String? {
        do {
            return try await sts.callerIdentity(try await credentials.current())
        } catch {
            throw .permanent(error.description)
        }
    }

    public var invokeConcurrency: Int { settings.invokeConcurrency }

    /// The workflow's tags with the operator's added; the workflow's own keys win.
    func tags(_ workflow: [String: String]) -> [String: String] {
        workflow.merging(settings.tags) { ours, _ in ours }
    }

    // MARK: - Training data

    public func putTrainingData(_ upload: TrainingUpload) async throws(BackendError) -> String {
        // The drop's own name (the inbox accepts only plain names), else the spool file's.
        let file = upload.dropName.map { URL(fileURLWithPath: $0).lastPathComponent } ?? URL(fileURLWithPath: upload.localPath).lastPathComponent
        return try await put(upload.localPath, for: upload, at: file, sha256: upload.sha256)
    }

    public func putValidationData(_ upload: TrainingUpload, path: String) async throws(BackendError) -> String {
        try await put(path, for: upload, at: "validation/" + URL(fileURLWithPath: path).lastPathComponent)
    }

    /// Uploads a file under the workflow's folder, `prefix/<profile>/<workflow-id>/`, tagged.
    func put(_ path: String, for upload: TrainingUpload, at name: String, sha256: String? = nil) async throws(BackendError) -> String {
        let location = S3Location(bucket: settings.bucket, key: settings.prefix).appending(upload.profile, upload.workflowID, name)
        do {
            try await s3.uploadFile(
                path, to: location, contentType: "application/jsonl",
                tags: tags(["finetuned:workflow-id": upload.workflowID, "finetuned:profile": upload.profile]),
                expectedSHA256: sha256)
        } catch {
            throw BedrockErrors.map(error, "upload to \(location)")
        }
        return location.uri
    }

    func outputLocation(tags: [String: String], jobName: String) -> S3Location {
        let base = S3Location(bucket: settings.effectiveOutputBucket, key: settings.effectiveOutputPrefix)
        if let profile = tags["finetuned:profile"], let workflow = tags["finetuned:workflow-id"] { return base.appending(profile, workflow) }
        return base.appending(jobName)
    }

    // MARK: - Jobs

    public func findJob(name: String) async throws(BackendError) -> JobState? {
        do { return try await job(name) } catch {
            if case .notFound = error { return nil }
            throw error
        }
    }

    public func createJob(_ request: JobRequest) async throws(BackendError) -> String {
        let vpc = settings.vpcSubnetIDs.isEmpty ? nil : VpcConfig(subnetIds: settings.vpcSubnetIDs, securityGroupIds: settings.vpcSecurityGroupIDs)
        var body = CreateModelCustomizationJobRequest(
            jobName: request.jobName, customModelName: request.customModelName, roleArn: settings.roleARN,
            clientRequestToken: request.clientRequestToken, baseModelIdentifier: request.baseModel,
            trainingDataURI: request.trainingDataURI, outputDataURI: outputLocation(tags: request.tags, jobName: request.jobName).uri + "/",
            hyperParameters: request.hyperparameters, tags: tags(request.tags), kmsKeyID: settings.kmsKeyID, vpcConfig: vpc,
            validationDataURI: request.validationDataURI)
        if let teacher = request.teacherModel {
            body.customizationType = "DISTILLATION"
            body.customizationConfig = .distillation(teacher: teacher)
        }
        do {
            return try await control.createModelCustomizationJob(body)
        } catch  where BedrockErrors.isNameCollision(error) {
            let existing: ModelCustomizationJob
            do { existing = try await control.getModelCustomizationJob(request.jobName) } catch {
                throw BedrockErrors.map(error, "look up the job named \(request.jobName)")
            }
            guard existing.clientRequestToken == request.clientRequestToken else {
                throw .permanent(
                    "CreateModelCustomizationJob: \(error.code): \(error.message) A job named \(request.jobName) exists and was not created by this workflow (its client token differs); delete or rename it, or retry the workflow."
                )
            }
            logger.notice(
                "customization job \(request.jobName) already exists with this workflow's token: resuming it",
                metadata: ["job_arn": "\(existing.jobArn)"])
            return existing.jobArn
        } catch {
            throw BedrockErrors.map(error, "CreateModelCustomizationJob")
        }
    }

    public func job(_ identifier: String) async throws(BackendError) -> JobState {
        let job: ModelCustomizationJob
        do { job = try await control.getModelCustomizationJob(identifier) } catch { throw BedrockErrors.map(error, "GetModelCustomizationJob") }
        return try Self.state(job)
    }

    /// A job the service does not know is reported `.notFound` (the engine records it gone)
    /// without asking again by another route.
    public func stopJob(_ arn: String) async throws(BackendError) {
        let failure: AWSError
        do {
            try await control.stopModelCustomizationJob(arn)
            return
        } catch { failure = error }
        let mapped = BedrockErrors.map(failure, "StopModelCustomizationJob")
        switch mapped {
        case .notFound, .throttled, .transient: throw mapped
        case .quotaExceeded, .permanent: break
        }
        // Stopping a job that already ended is refused by the service; that is done.
        let state = try await job(arn)
        guard state.status == .inProgress else { return }
        throw mapped
    }

    static func state(_ job: ModelCustomizationJob) throws(BackendError) -> JobState {
        guard let text = job.status, let status = JobState.Status(rawValue: text) else {
            throw .transient("GetModelCustomizationJob: unknown status '\(job.status ?? "none")' for \(job.jobArn)")
        }
        // A failure message only means something once the job ended (moto sets one on every job).
        let ended = status == .failed || status == .stopped
        return JobState(
            arn: job.jobArn, status: status, customModelARN: status == .completed ? job.outputModelArn : nil,
            message: ended ? job.failureMessage : job.statusDetails?.currentPhase, clientToken: job.clientRequestToken)
    }

    // MARK: - Throughput

    public func findThroughput(name: String) async throws(BackendError) -> ThroughputState? {
        do { return try await throughput(name) } catch {
            if case .notFound = error { return nil }
            throw error
        }
    }

    public func createThroughput(_ request: ThroughputRequest) async throws(BackendError) -> String {
        let body = CreateProvisionedModelThroughputRequest(
            clientRequestToken: request.clientRequestToken,
            modelUnits: max(request.modelUnits, settings.modelUnits),
            provisionedModelName: request.name, modelId: request.modelARN, tags: tags(request.tags))
        do {
            return try await control.createProvisionedModelThroughput(body)
        } catch  where BedrockErrors.isNameCollision(error) {
            let existing: ProvisionedModelThroughput
            do { existing = try await control.getProvisionedModelThroughput(request.name) } catch {
                throw BedrockErrors.map(error, "look up the throughput named \(request.name)")
            }
            guard existing.modelArn == nil || existing.modelArn == request.modelARN else {
                throw .permanent(
                    "CreateProvisionedModelThroughput: \(error.code): \(error.message) A throughput named \(request.name) serves another model (\(existing.modelArn ?? "?"))."
                )
            }
            return existing.provisionedModelArn
        } catch {
            throw BedrockErrors.map(error, "CreateProvisionedModelThroughput")
        }
    }

    public func throughput(_ identifier: String) async throws(BackendError) -> ThroughputState {
        let throughput: ProvisionedModelThroughput
        do { throughput = try await control.getProvisionedModelThroughput(identifier) } catch {
            throw BedrockErrors.map(error, "GetProvisionedModelThroughput")
        }
        return try Self.state(throughput)
    }

    public func deleteThroughput(_ arn: String) async throws(BackendError) {
        try await deleting("DeleteProvisionedModelThroughput") { () async throws(AWSError) in try await control.deleteProvisionedModelThroughput(arn)
        }
    }

    public func deleteCustomModel(_ arn: String) async throws(BackendError) {
        try await deleting("DeleteCustomModel") { () async throws(AWSError) in try await control.deleteCustomModel(arn) }
    }

    /// A delete; "not found" is reported as such, and the engine records the resource gone.
    func deleting(_ operation: String, _ call: () async throws(AWSError) -> Void) async throws(BackendError) {
        do { try await call() } catch { throw BedrockErrors.map(error, operation) }
    }

    static func state(_ throughput: ProvisionedModelThroughput) throws(BackendError) -> ThroughputState {
        guard let text = throughput.status, let status = ThroughputState.Status(rawValue: text) else {
            throw .transient("GetProvisionedModelThroughput: unknown status '\(throughput.status ?? "none")' for \(throughput.provisionedModelArn)")
        }
        return ThroughputState(arn: throughput.provisionedModelArn, status: status, message: throughput.failureMessage, modelARN: throughput.modelArn)
    }

    // MARK: - Custom model deployment (on-demand serving)

    public func findDeployment(name: String) async throws(BackendError) -> DeploymentState? {
        do { return try await deployment(name) } catch {
            if case .notFound = error { return nil }
            throw error
        }
    }

    public func createDeployment(_ request: DeploymentRequest) async throws(BackendError) -> String {
        let body = CreateCustomModelDeploymentRequest(
            modelDeploymentName: request.name, modelArn: request.modelARN,
            description: "finetuned: serves the custom model of workflow \(request.tags["finetuned:workflow-id"] ?? "?") on demand",
            tags: tags(request.tags), clientRequestToken: request.clientRequestToken)
        do {
            return try await control.createCustomModelDeployment(body)
        } catch  where BedrockErrors.isNameCollision(error) {
            let existing: CustomModelDeployment
            do { existing = try await control.getCustomModelDeployment(request.name) } catch {
                throw BedrockErrors.map(error, "look up the deployment named \(request.name)")
            }
            guard existing.modelArn == request.modelARN else {
                throw .permanent(
                    "CreateCustomModelDeployment: \(error.code): \(error.message) A deployment named \(request.name) serves another model (\(existing.modelArn ?? "?"))."
                )
            }
            return existing.customModelDeploymentArn
        } catch {
            throw BedrockErrors.map(error, "CreateCustomModelDeployment")
        }
    }

    public func deployment(_ identifier: String) async throws(BackendError) -> DeploymentState {
        let deployment: CustomModelDeployment
        do { deployment = try await control.getCustomModelDeployment(identifier) } catch {
            throw BedrockErrors.map(error, "GetCustomModelDeployment")
        }
        guard let text = deployment.status, let status = DeploymentState.Status(rawValue: text) else {
            throw .transient("GetCustomModelDeployment: unknown status '\(deployment.status ?? "none")' for \(deployment.customModelDeploymentArn)")
        }
        return DeploymentState(
            arn: deployment.customModelDeploymentArn, status: status, message: deployment.failureMessage, modelARN: deployment.modelArn)
    }

    public func deleteDeployment(_ arn: String) async throws(BackendError) {
        try await deleting("DeleteCustomModelDeployment") { () async throws(AWSError) in try await control.deleteCustomModelDeployment(arn) }
    }

    // MARK: - Inference

    public func invoke(modelID: String, body: String) async throws(BackendError) -> String {
        await limiter.acquire()
        do {
            let answer = try await runtime.invokeModel(modelID, body: body)
            await limiter.release(throttled: false)
            return answer
        } catch {
            await limiter.release(throttled: error.isThrottling)
            throw BedrockErrors.map(error, "InvokeModel")
        }
    }

    public func converse(modelID: String, body: String) async throws(BackendError) -> String {
        await limiter.acquire()
        do {
            let answer = try await runtime.converse(modelID, body: body)
            await limiter.release(throttled: false)
            return answer
        } catch {
            await limiter.release(throttled: error.isThrottling)
            throw BedrockErrors.map(error, "Converse")
        }
    }

    // MARK: - Reporting

    public func trainingMetrics(jobARN: String, archiveFolder: String) async -> [EpochMetrics] {
        guard let job = try? await control.getModelCustomizationJob(jobARN), let output = job.outputDataConfig.flatMap({ S3Location(uri: $0.s3Uri) }),
            let id = jobARN.split(separator: "/").last
        else { return [] }
        let root = output.appending("model-customization-job-\(id)")
        var files: [String: String] = [:]
        for (name, location) in [
            (TrainingMetricsCSV.stepWiseName, root.appending("training_artifacts", TrainingMetricsCSV.stepWiseName)),
            (
                TrainingMetricsCSV.validationName,
                root.appending(
                    "validation_artifacts", "post_fine_tuning_validation",
                    TrainingMetricsCSV.validationName)
            ),
        ] {
            do {
                let body = try await s3.getObject(location)
                try? FileManager.default.createDirectory(atPath: archiveFolder, withIntermediateDirectories: true)
                try Data(body).write(to: URL(fileURLWithPath: archiveFolder + "/" + name))
                files[name] = String(decoding: body, as: UTF8.self)
            } catch {
                logger.info("no \(name) for \(jobARN): \(error)")
            }
        }
        guard let stepWise = files[TrainingMetricsCSV.stepWiseName] else { return [] }
        return TrainingMetricsCSV.epochs(stepWise: stepWise, validation: files[TrainingMetricsCSV.validationName])
    }

    public func baseModelWarning(_ baseModel: String) async -> String? {
        do {
            let model = try await control.getFoundationModel(baseModel)
            if let status = model.modelLifecycle?.status, status != "ACTIVE" {
                return "Bedrock lists the base model \(baseModel) as \(status): it may stop accepting customization or inference soon"
            }
            if let supported = model.customizationsSupported, !supported.contains("FINE_TUNING") {
                return "Bedrock does not list FINE_TUNING among the customizations of \(baseModel) (it lists \(supported.joined(separator: ", ")))"
            }
            return nil
        } catch {
            logger.info("GetFoundationModel \(baseModel) failed (the job goes ahead): \(error.description)")
            return nil
        }
    }
}
