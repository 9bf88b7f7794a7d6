import FinetunedConfig
import FinetunedTime
import FinetunedWorkflow
import Foundation

/// A `CustomizationBackend` that follows a script instead of calling a service: jobs take
/// `job_polls` polls and end as scripted, throughputs likewise, faults come on a schedule
/// counted in calls. It behaves like Bedrock where the engine depends on it: client tokens
/// are idempotent, names are unique, what is gone is not found (as at Bedrock), and everything
/// it "created" is recorded outside the daemon (`state_file`), so a crash test can count it.
public struct ScriptedBackend: CustomizationBackend {
    let script: ScriptSettings
    let storage: any ScriptStorage
    let name: String

    public init(name: String, script: ScriptSettings) {
        self.name = name
        self.script = script
        self.storage = script.stateFile.map { FileScriptStorage(path: $0) } ?? MemoryScriptStorage()
    }

    /// The state a `state_file` holds, for tests.
    public static func state(at path: String) throws -> ScriptState {
        try FileScriptStorage.read(path: path)
    }

    /// One call: pace it, count it, inject the scheduled fault, or perform it. The count and
    /// the effect are saved together, so a fault schedule continues across daemon restarts.
    private func perform<T: Sendable>(_ operation: String, _ body: @Sendable (inout ScriptState) -> Result<T, BackendError>)
        async throws(BackendError) -> T
    {
        let delay = operation == "invoke" ? script.invokeDelayMilliseconds : script.delayMilliseconds
        if delay > 0 {
            do { try await Timers.sleep(for: .milliseconds(delay)) } catch { throw .transient("cancelled") }
        }
        let script = self.script
        let result: Result<T, BackendError>
        do {
            result = try storage.update { state -> Result<T, BackendError> in
                state.calls += 1
                let n = state.calls
                if n <= script.stormCalls || (script.throttleEvery > 0 && n % script.throttleEvery == 0) {
                    state.log.append("throttled:" + operation)
                    return .failure(.throttled(message: "ThrottlingException: Too many requests, please wait before trying again.", retryAfter: nil))
                }
                if script.failEvery > 0 && n % script.failEvery == 0 {
                    state.log.append("5xx:" + operation)
                    return .failure(.transient("InternalServerException (HTTP 500)"))
                }
                if script.failOperation == operation {
                    state.log.append("denied:" + operation)
                    switch script.failKind {
                    case "quota": return .failure(.quotaExceeded("ServiceQuotaExceededException: scripted quota on \(operation)"))
                    case "validation": return .failure(.permanent("ValidationException: scripted refusal of \(operation)"))
                    case "not_found":
                        // For a stop or a delete: someone removed it just before (its effect
                        // happens), so the service no longer knows it.
                        if ["stop_job", "delete_throughput", "delete_custom_model"].contains(operation) { _ = body(&state) }
                        return .failure(.notFound("ResourceNotFoundException: scripted absence for \(operation)"))
                    default: return .failure(.permanent("AccessDeniedException: scripted denial of \(operation)"))
                    }
                }
                state.log.append(operation)
                return body(&state)
            }
        } catch {
            throw .transient("scripted backend state: \(error)")
        }
        return try result.get()
    }

    public func putTrainingData(_ upload: TrainingUpload) async throws(BackendError) -> String {
        let uri = "scripted://\(name)/\(upload.profile)/\(upload.workflowID)/training.jsonl"
        return try await perform("put_training_data") { state in
            if !state.uploads.contains(uri) { state.uploads.append(uri) }
            return .success(uri)
        }
    }

    public func findJob(name: String) async throws(BackendError) -> JobState? {
        try await perform("find_job") { state in
            .success(state.jobs.first { $0.name == name }.map(Self.jobState))
        }
    }

    public func createJob(_ request: JobRequest) async throws(BackendError) -> String {
        let backend = name
        return try await perform("create_job") { state in
            if let same = state.jobs.first(where: { $0.token == request.clientRequestToken }) { return .success(same.arn) }
            if state.jobs.contains(where: { $0.name == request.jobName }) {
                return .failure(.permanent("ValidationException: a job named \(request.jobName) already exists"))
            }
            let arn = "arn:scripted:\(backend):job/\(request.jobName)"
            state.jobs.append(
                ScriptState.Job(
                    name: request.jobName, arn: arn, token: request.clientRequestToken, customModelName: request.customModelName,
                    baseModel: request.baseModel, hyperparameters: request.hyperparameters, tags: request.tags,
                    status: "InProgress", polls: 0, customModelARN: nil))
            state.peakRunningJobs = max(state.peakRunningJobs, state.jobs.filter { $0.status == "InProgress" }.count)
            return .success(arn)
        }
    }

    public func job(_ arn: String) async throws(BackendError) -> JobState {
        let script = self.script, backend = name
        return try await perform("get_job") { state in
            guard let i = state.jobs.firstIndex(where: { $0.arn == arn }) else { return .failure(.notFound("no job \(arn)")) }
            if state.jobs[i].status == "InProgress" {
                state.jobs[i].polls += 1
                if state.jobs[i].polls > script.jobPolls {
                    state.jobs[i].status = script.jobOutcome
                    if script.jobOutcome == "Completed" {
                        let model = "arn:scripted:\(backend):custom-model/\(state.jobs[i].customModelName)"
                        state.jobs[i].customModelARN = model
                        state.models.append(ScriptState.Model(name: state.jobs[i].customModelName, arn: model, deleted: false))
                    }
                }
            } else if state.jobs[i].status == "Stopping" {
                state.jobs[i].status = "Stopped"
            }
            return .success(Self.jobState(state.jobs[i], message: script.jobMessage))
        }
    }

    static func jobState(_ job: ScriptState.Job) -> JobState { jobState(job, message: nil) }

    static func jobState(_ job: ScriptState.Job, message: String?) -> JobState {
        let status = JobState.Status(rawValue: job.status) ?? .inProgress
        let detail: String? =
            switch status {
            case .inProgress: "Training (poll \(job.polls))"
            case .failed, .stopped: message
            default: nil
            }
        return JobState(arn: job.arn, status: status, customModelARN: job.customModelARN, message: detail, clientToken: job.token)
    }

    public func stopJob(_ arn: String) async throws(BackendError) {
        try await perform("stop_job") { (state: inout ScriptState) -> Result<Void, BackendError> in
            guard let i = state.jobs.firstIndex(where: { $0.arn == arn }) else { return .failure(.notFound("no job \(arn)")) }
            if state.jobs[i].status == "InProgress" { state.jobs[i].status = "Stopped" }
            return .success(())
        }
    }

    public func findThroughput(name: String) async throws(BackendError) -> ThroughputState? {
        try await perform("find_throughput") { state in
            .success(
                state.throughputs.first { $0.name == name && !$0.deleted }.map {
                    ThroughputState(arn: $0.arn, status: ThroughputState.Status(rawValue: $0.status) ?? .creating, modelARN: $0.modelARN)
                })
        }
    }

    public func createThroughput(_ request: ThroughputRequest) async throws(BackendError) -> String {
        let script = self.script, backend = name
        return try await perform("create_throughput") { state in
            if let same = state.throughputs.first(where: { $0.token == request.clientRequestToken }) { return .success(same.arn) }
            guard state.liveThroughputs.count < script.throughputQuota else {
                return .failure(.quotaExceeded("ServiceQuotaExceededException: \(script.throughputQuota) provisioned throughputs in use"))
            }
            guard state.models.contains(where: { $0.arn == request.modelARN && !$0.deleted }) else {
                return .failure(.permanent("ValidationException: no custom model \(request.modelARN)"))
            }
            let arn = "arn:scripted:\(backend):provisioned-model/\(request.name)-\(state.throughputs.count + 1)"
            state.throughputs.append(
                ScriptState.Throughput(
                    name: request.name, arn: arn, token: request.clientRequestToken, modelARN: request.modelARN,
                    status: "Creating", polls: 0, deleted: false, tags: request.tags))
            state.peakLiveThroughputs = max(state.peakLiveThroughputs, state.liveThroughputs.count)
            return .success(arn)
        }
    }

    public func throughput(_ arn: String) async throws(BackendError) -> ThroughputState {
        let script = self.script
        return try await perform("get_throughput") { state in
            guard let i = state.throughputs.firstIndex(where: { $0.arn == arn && !$0.deleted }) else {
                return .failure(.notFound("no provisioned throughput \(arn)"))
            }
            if state.throughputs[i].status == "Creating" {
                state.throughputs[i].polls += 1
                if state.throughputs[i].polls > script.throughputPolls { state.throughputs[i].status = script.throughputOutcome }
            }
            let status = ThroughputState.Status(rawValue: state.throughputs[i].status) ?? .creating
            return .success(ThroughputState(arn: arn, status: status, message: status == .failed ? "scripted capacity failure" : nil))
        }
    }

    public func deleteThroughput(_ arn: String) async throws(BackendError) {
        try await perform("delete_throughput") { (state: inout ScriptState) -> Result<Void, BackendError> in
            guard let i = state.throughputs.firstIndex(where: { $0.arn == arn && !$0.deleted }) else {
                return .failure(.notFound("ResourceNotFoundException: no provisioned throughput \(arn)"))
            }
            state.throughputs[i].deleted = true
            return .success(())
        }
    }

    public func deleteCustomModel(_ arn: String) async throws(BackendError) {
        try await perform("delete_custom_model") { (state: inout ScriptState) -> Result<Void, BackendError> in
            if state.throughputs.contains(where: { $0.modelARN == arn && !$0.deleted }) {
                return .failure(.permanent("ValidationException: the model \(arn) is in use by a provisioned throughput"))
            }
            guard let i = state.models.firstIndex(where: { $0.arn == arn && !$0.deleted }) else {
                return .failure(.notFound("ResourceNotFoundException: no custom model \(arn)"))
            }
            state.models[i].deleted = true
            return .success(())
        }
    }

    /// Answers in the local adapter's shape (`{"summary": …}`). The base model answers with
    /// the document's last sentence; the custom model, scripted `better`, with its first (the
    /// test sets put the gist there), `worse` with filler, `same` like the base model.
    public var invokeConcurrency: Int { script.invokeConcurrency }

    public func invoke(modelID: String, body: String) async throws(BackendError) -> String {
        let script = self.script
        return try await perform("invoke") { state in
            state.invocations += 1
            let custom = modelID.hasPrefix("arn:scripted:")
            if custom, !state.throughputs.contains(where: { $0.arn == modelID && !$0.deleted && $0.status == "InService" }) {
                return .failure(.permanent("ValidationException: provisioned throughput \(modelID) is not in service"))
            }
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                let document = (object["document"] ?? object["prompt"] ?? object["inputText"]) as? String
            else { return .failure(.permanent("ValidationException: the body has no document")) }
            let sentences = document.split(whereSeparator: { $0 == "." }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let first = (sentences.first ?? document) + "."
            let last = (sentences.last ?? document) + "."
            let text: String =
                switch (custom, script.customAnswers) {
                case (false, _), (true, "same"): last
                case (true, "worse"): "Nothing of note was reported in this text at all."
                default: first
                }
            let answer: [String: Any] = [
                "summary": text, "selected": [], "input_words": document.split(separator: " ").count,
                "output_words": text.split(separator: " ").count,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys])) ?? Data()
            return .success(String(decoding: data, as: UTF8.self))
        }
    }
}
