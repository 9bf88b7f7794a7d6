import Metrics

/// Any backend, with every call counted by operation and result and timed
/// (`finetuned_backend_calls_total`, `finetuned_backend_call_seconds`), whichever backend it
/// is: the local one, Bedrock or the scripted one of the tests.
public struct MeteredBackend: CustomizationBackend {
    public let base: any CustomizationBackend
    /// The backend's name in the configuration, the `backend` label.
    public let name: String

    public init(_ base: any CustomizationBackend, name: String) {
        self.base = base
        self.name = name
    }

    public var invokeConcurrency: Int { base.invokeConcurrency }

    /// Runs one call, then records its result: `ok`, or the kind of failure.
    private func measured<T>(_ operation: String, _ call: () async throws(BackendError) -> T) async throws(BackendError) -> T {
        let start = ContinuousClock.now
        let result: String
        defer {
            Counter(label: "finetuned_backend_calls_total", dimensions: [("backend", name), ("operation", operation), ("result", result)])
                .increment()
            Metrics.Timer(label: "finetuned_backend_call_seconds", dimensions: [("backend", name), ("operation", operation)])
                .record(duration: start.duration(to: .now))
        }
        do {
            let value = try await call()
            result = "ok"
            return value
        } catch {
            result = error.metricLabel
            throw error
        }
    }

    public func putTrainingData(_ upload: TrainingUpload) async throws(BackendError) -> String {
        try await measured("PutTrainingData") { () async throws(BackendError) in try await base.putTrainingData(upload) }
    }
    public func putValidationData(_ upload: TrainingUpload, path: String) async throws(BackendError) -> String {
        try await measured("PutValidationData") { () async throws(BackendError) in try await base.putValidationData(upload, path: path) }
    }
    public func findJob(name: String) async throws(BackendError) -> JobState? {
        try await measured("FindJob") { () async throws(BackendError) in try await base.findJob(name: name) }
    }
    public func createJob(_ request: JobRequest) async throws(BackendError) -> String {
        try await measured("CreateJob") { () async throws(BackendError) in try await base.createJob(request) }
    }
    public func job(_ arn: String) async throws(BackendError) -> JobState {
        try await measured("GetJob") { () async throws(BackendError) in try await base.job(arn) }
    }
    public func stopJob(_ arn: String) async throws(BackendError) {
        try await measured("StopJob") { () async throws(BackendError) in try await base.stopJob(arn) }
    }
    public func findThroughput(name: String) async throws(BackendError) -> ThroughputState? {
        try await measured("FindThroughput") { () async throws(BackendError) in try await base.findThroughput(name: name) }
    }
    public func createThroughput(_ request: ThroughputRequest) async throws(BackendError) -> String {
        try await measured("CreateThroughput") { () async throws(BackendError) in try await base.createThroughput(request) }
    }
    public func throughput(_ arn: String) async throws(BackendError) -> ThroughputState {
        try await measured("GetThroughput") { () async throws(BackendError) in try await base.throughput(arn) }
    }
    public func deleteThroughput(_ arn: String) async throws(BackendError) {
        try await measured("DeleteThroughput") { () async throws(BackendError) in try await base.deleteThroughput(arn) }
    }
    public func deleteCustomModel(_ arn: String) async throws(BackendError) {
        try await measured("DeleteCustomModel") { () async throws(BackendError) in try await base.deleteCustomModel(arn) }
    }
    public func findDeployment(name: String) async throws(BackendError) -> DeploymentState? {
        try await measured("FindDeployment") { () async throws(BackendError) in try await base.findDeployment(name: name) }
    }
    public func createDeployment(_ request: DeploymentRequest) async throws(BackendError) -> String {
        try await measured("CreateDeployment") { () async throws(BackendError) in try await base.createDeployment(request) }
    }
    public func deployment(_ arn: String) async throws(BackendError) -> DeploymentState {
        try await measured("GetDeployment") { () async throws(BackendError) in try await base.deployment(arn) }
    }
    public func deleteDeployment(_ arn: String) async throws(BackendError) {
        try await measured("DeleteDeployment") { () async throws(BackendError) in try await base.deleteDeployment(arn) }
    }
    public func invoke(modelID: String, body: String) async throws(BackendError) -> String {
        try await measured("InvokeModel") { () async throws(BackendError) in try await base.invoke(modelID: modelID, body: body) }
    }
    public func converse(modelID: String, body: String) async throws(BackendError) -> String {
        try await measured("Converse") { () async throws(BackendError) in try await base.converse(modelID: modelID, body: body) }
    }
    public func trainingMetrics(jobARN: String, archiveFolder: String) async -> [EpochMetrics] {
        await base.trainingMetrics(jobARN: jobARN, archiveFolder: archiveFolder)
    }
    public func baseModelWarning(_ baseModel: String) async -> String? {
        await base.baseModelWarning(baseModel)
    }
    public func identity() async throws(BackendError) -> String? {
        try await measured("GetCallerIdentity") { () async throws(BackendError) in try await base.identity() }
    }
}

extension BackendError {
    /// The failure's kind, as a metric's label: a handful of values, never the message.
    var metricLabel: String {
        switch self {
        case .throttled: "throttled"
        case .transient: "transient"
        case .notFound: "not_found"
        case .quotaExceeded: "quota_exceeded"
        case .permanent: "permanent"
        }
    }
}
