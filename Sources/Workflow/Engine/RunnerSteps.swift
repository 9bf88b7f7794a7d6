import FinetunedFaults
import FinetunedText
import Foundation

/// The side effect behind each action. Every one is safe to repeat: creates look the
/// resource up by name first and carry a deterministic client token; deletes treat "not
/// found" as done; inference skips prompts already answered.
extension WorkflowRunner {
    /// Fixes a new workflow's settings from its profile and sidecar, before anything is paid.
    func start(_ record: WorkflowRecord) async throws -> WorkflowRecord {
        let spec: WorkflowSpec
        do {
            spec = try await environment.spec(for: record)
        } catch {
            return try await commit(record, .stepFailed(message: "cannot start: \(ErrorWords.of(error))"), message: "cannot start")
        }
        var context = record.context
        context.spec = spec
        context.keepRejectedModels = spec.keepRejectedModels
        // The store counts the workflows started on every node and refuses this one when the
        // limit is reached (another node started one since the engine's last count).
        let next = try await store.advance(
            WorkflowStep(
                id: id, from: record.stage, to: record.stage, context: context, kind: .started,
                message: "started: \(spec.adapter)/\(spec.baseModel) on backend \(spec.backend)", lease: lease,
                admissionLimit: policy.maxConcurrentWorkflows))
        log(next, "workflow started: \(spec.adapter)/\(spec.baseModel) on backend \(spec.backend)", level: .notice)
        return next
    }

    func perform(_ action: WorkflowMachine.Action, record: WorkflowRecord, memory: inout Memory) async throws -> StepOutcome {
        let context = record.context
        guard let spec = context.spec else {
            // Only a workflow that failed to start has no settings: nothing was created.
            if case .notify(let outcome) = action {
                return await notification(outcome, record: record, resources: [], swept: [], trainingLoss: [], report: nil)
            }
            throw Failure(.step, "the workflow has no settings")
        }
        let backend = try await environment.backend(named: spec.backend)
        let attempt = context.attempt
        let tags = ResourceNaming.tags(workflowID: id, profile: record.profile, extra: await environment.extraTags())

        switch action {
        case .upload:
            // The held-out prompts are chosen here, where the drop is, and stored with the
            // upload: whichever node evaluates needs no file of this one. A set with no prompt
            // left fails now, before the job is paid for.
            _ = try await plan(record: record, spec: spec, memory: &memory)
            let upload = TrainingUpload(
                workflowID: id, profile: record.profile, localPath: record.spoolPath, sha256: record.sha256,
                dropName: record.dropName)
            let uri = try await call { try await backend.putTrainingData(upload) }
            var resources: [ResourceChange] = [.created(ResourceRecord(workflowID: id, kind: .trainingData, identifier: uri))]
            var validationURI: String?
            if let validation = spec.validationSet {
                let put = try await call { try await backend.putValidationData(upload, path: validation) }
                resources.append(.created(ResourceRecord(workflowID: id, kind: .trainingData, identifier: put)))
                validationURI = put
            }
            return .event(
                .uploaded(uri: uri, validationURI: validationURI),
                message: "training data at \(uri)" + (validationURI.map { ", validation data at \($0)" } ?? ""), resources: resources)

        case .createJob:
            let name = ResourceNaming.name(spec.jobName, attempt: attempt)
            let token = ResourceNaming.clientToken(workflowID: id, attempt: attempt, step: "create-job")
            if let found = try await call({ try await backend.findJob(name: name) }) {
                // Bedrock keeps job names for ever: a job of that name is adopted only when it
                // carries this workflow's client token, never because its name matches.
                guard found.clientToken == token else {
                    throw Failure(
                        .step,
                        "a customization job named \(name) already exists and was not created by this workflow "
                            + "(its client token differs: \(found.arn)); it was left alone")
                }
                return .event(
                    .jobCreated(arn: found.arn), message: "found job \(name) created before a restart: \(found.arn)",
                    resources: try await knownResource(.job, found.arn, name: name))
            }
            if let warning = await backend.baseModelWarning(spec.baseModel) { log(record, warning, level: .warning) }
            guard let uri = context.trainingDataURI else { throw Failure(.step, "no training data was uploaded") }
            let arn = try await call {
                try await backend.createJob(
                    JobRequest(
                        jobName: name, customModelName: ResourceNaming.name(spec.customModelName, attempt: attempt), baseModel: spec.baseModel,
                        trainingDataURI: uri, hyperparameters: spec.hyperparameters, clientRequestToken: token, tags: tags,
                        validationDataURI: context.validationDataURI, teacherModel: spec.teacherModel))
            }
            let kind = spec.teacherModel.map { "distillation job (teacher \($0))" } ?? "customization job"
            return .event(
                .jobCreated(arn: arn), message: "\(kind) \(name) created: \(arn)",
                resources: [.created(ResourceRecord(workflowID: id, kind: .job, identifier: arn, name: name, clientToken: token))])

        case .pollJob:
            guard let arn = context.jobARN else { throw Failure(.step, "no job to poll") }
            var state = try await call { try await backend.job(arn) }
            state.message = state.message.map { OneLine.of($0, limit: 500) }  // the service's words, kept to one line
            switch state.status {
            case .completed:
                guard let model = state.customModelARN else { throw BackendError.transient("job \(arn) completed without a custom model ARN yet") }
                return .event(
                    .jobCompleted(customModelARN: model), message: "training completed: custom model \(model)",
                    resources: [
                        .deleted(kind: .job, identifier: arn),
                        .created(
                            ResourceRecord(
                                workflowID: id, kind: .customModel, identifier: model,
                                name: ResourceNaming.name(spec.customModelName, attempt: attempt))),
                    ])
            case .failed, .stopped:
                return .event(
                    .jobEnded(status: state.status.rawValue, message: state.message ?? "no message"),
                    message: "the job ended \(state.status.rawValue): \(state.message ?? "no message")",
                    resources: [.deleted(kind: .job, identifier: arn)])
            case .inProgress, .stopping:
                if let created = context.jobCreatedAt, Date().timeIntervalSince(created) > policy.trainingDeadline.seconds {
                    let hours = String(format: "%.2f", policy.trainingDeadline.seconds / 3600)
                    return .event(
                        .stepFailed(message: "training did not finish within \(hours) hours (training_deadline_hours)"), message: "deadline")
                }
                if record.stage == .jobCreated {
                    return .event(.jobInProgress, message: "training (\(state.message ?? state.status.rawValue))")
                }
                let status = state.status.rawValue + (state.message.map { ": " + $0 } ?? "")
                if status != context.lastServiceStatus { return .status(status, thenWait: policy.jobPoll.delay(attempt: 0)) }
                return .wait(policy.jobPoll.delay(attempt: memory.polls))
            }

        case .stopJob:
            guard let arn = context.jobARN else { throw Failure(.step, "no job to stop") }
            let removal = try await remove(.job, arn, record: record, backend: backend)
            return .event(.jobStopped, message: removal.message("stopped", .job, arn), resources: [.deleted(kind: .job, identifier: arn)])

        case .createThroughput:
            guard let model = context.customModelARN else { throw Failure(.step, "no custom model to serve") }
            let serving = context.serving, kind = serving.resourceKind
            let name = ResourceNaming.name(spec.throughputName, attempt: attempt)
            if let found = try await findServing(serving, name: name, backend: backend) {
                guard found.modelARN == model else {
                    throw Failure(
                        .step,
                        "a \(serving.words) named \(name) already exists and does not serve this workflow's custom model "
                            + "(\(found.arn) serves \(found.modelARN ?? "a model the service does not name")); it was left alone")
                }
                return .event(
                    .throughputCreated(arn: found.arn, at: Date()), message: "found \(serving.words) \(name) created before a restart: \(found.arn)",
                    resources: try await knownResource(kind, found.arn, name: name))
            }
            guard await slots.reserveServing(kind, for: id) else {
                if !memory.waitingForSlot {
                    memory.waitingForSlot = true
                    let limit =
                        serving == .onDemand
                        ? "max_live_deployments = \(policy.maxLiveDeployments)" : "max_live_throughputs = \(policy.maxLiveThroughputs)"
                    log(record, "waiting for a \(serving.words) slot (\(limit))", level: .notice)
                }
                return .wait(policy.throughputPoll.delay(attempt: 0))
            }
            memory.waitingForSlot = false
            let token = ResourceNaming.clientToken(
                workflowID: id, attempt: attempt, step: serving == .onDemand ? "create-deployment" : "create-throughput")
            let arn: String
            do {
                arn = try await call(named: serving == .onDemand ? "create-deployment" : "create-throughput") {
                    switch serving {
                    case .provisioned:
                        try await backend.createThroughput(ThroughputRequest(name: name, modelARN: model, clientRequestToken: token, tags: tags))
                    case .onDemand:
                        try await backend.createDeployment(DeploymentRequest(name: name, modelARN: model, clientRequestToken: token, tags: tags))
                    }
                }
            } catch {
                await slots.releaseServing(kind, for: id)
                throw error
            }
            let what =
                serving == .onDemand
                ? "custom model deployment \(name) (on demand, billed per token)"
                : "provisioned throughput \(name) (1 model unit, no commitment)"
            return .event(
                .throughputCreated(arn: arn, at: Date()), message: "\(what): \(arn)",
                resources: [.created(ResourceRecord(workflowID: id, kind: kind, identifier: arn, name: name, clientToken: token))])

        case .pollThroughput:
            guard let arn = context.throughputARN else { throw Failure(.step, "no \(context.serving.words) to poll") }
            var state = try await servingState(context.serving, arn: arn, backend: backend)
            state.message = state.message.map { OneLine.of($0, limit: 500) }
            let what = context.serving.words
            switch state.phase {
            case .ready:
                return .event(.throughputInService(at: Date()), message: "\(what) \(state.status)")
            case .failed:
                return .event(.throughputFailed(message: state.message ?? "no message"), message: "\(what) failed: \(state.message ?? "no message")")
            case .pending:
                if let created = context.throughputCreatedAt, Date().timeIntervalSince(created) > policy.throughputDeadline.seconds {
                    let minutes = Int(policy.throughputDeadline.seconds / 60)
                    return .event(
                        .stepFailed(message: "the \(what) was not ready within \(minutes) minutes (throughput_deadline_minutes)"), message: "deadline"
                    )
                }
                let status = state.status + (state.message.map { ": " + $0 } ?? "")
                if status != context.lastServiceStatus { return .status(status, thenWait: policy.throughputPoll.delay(attempt: 0)) }
                return .wait(policy.throughputPoll.delay(attempt: memory.polls))
            }

        case .runInference(let model):
            return try await runInference(model, record: record, spec: spec, backend: backend, memory: &memory)

        case .score:
            return try await score(record: record, spec: spec, memory: &memory)

        case .decide:
            guard let scores = context.scores else { throw Failure(.step, "no scores to decide on") }
            var resources: [ResourceChange] = []
            if scores.keep, let model = context.customModelARN {
                resources = [.retained(kind: .customModel, identifier: model, true)]
                if let serving = context.throughputARN, context.keepsServing {
                    resources.append(.retained(kind: context.serving.resourceKind, identifier: serving, true))
                }
            }
            return .event(
                .decided(keep: scores.keep, reason: scores.reason),
                message: scores.keep ? "keeping the custom model: \(scores.reason)" : "not keeping the custom model: \(scores.reason)",
                resources: resources)

        case .deleteThroughput:
            let kind = context.serving.resourceKind
            guard let arn = context.throughputARN else { throw Failure(.step, "no \(kind.words) to delete") }
            let removal = try await remove(kind, arn, record: record, backend: backend)
            return .event(
                .throughputDeleted, message: removal.message("deleted", kind, arn),
                resources: [.deleted(kind: kind, identifier: arn)])

        case .deleteCustomModel:
            guard let arn = context.customModelARN else { throw Failure(.step, "no custom model to delete") }
            // A throughput the store never learned of would keep the model in use.
            var (resources, swept) = try await sweepIfCleaning(record: record, spec: spec, backend: backend)
            let removal = try await remove(.customModel, arn, record: record, backend: backend)
            resources.append(.deleted(kind: .customModel, identifier: arn))
            swept.append(removal.message("deleted", .customModel, arn))
            return .event(.customModelDeleted, message: swept.joined(separator: "; "), resources: resources)

        case .notify(let outcome):
            let (resources, swept) = try await sweepIfCleaning(record: record, spec: spec, backend: backend)
            if outcome == .cancelled { try await archiveDrop(record) }
            // What earlier cleanup steps recovered and removed, from the resource records.
            let earlier = try await store.resources(workflowID: id).filter { $0.recovered && $0.deletedAt != nil }
                .map { "cleaned up \($0.kind.words) \($0.identifier), created before an interruption" }
            let archive = environment.archiveFolder(for: id)
            let losses = await record.context.jobARN.asyncMap { await backend.trainingMetrics(jobARN: $0, archiveFolder: archive) } ?? []
            let report = await environment.writeReport(record: record, outcome: outcome, trainingLoss: losses)
            return await notification(outcome, record: record, resources: resources, swept: swept + earlier, trainingLoss: losses, report: report)

        case .finish:
            let folder = try await archiveDrop(record)
            return .event(.finished, message: "archived in \(folder)")
        }
    }

    /// Moves the drop (and its sidecar) from the spool into the workflow's archive folder.
    /// A failed workflow keeps its drop in the spool: `retry` may need to upload it again.
    @discardableResult
    func archiveDrop(_ record: WorkflowRecord) async throws -> String {
        let folder = environment.archiveFolder(for: id)
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let target = folder + "/training.jsonl"
        if record.spoolPath != target, FileManager.default.fileExists(atPath: record.spoolPath) {
            if rename(record.spoolPath, target) == 0 {
                try await store.recordLocation(id: id, path: target)
                // The sidecar and the sets sit beside the drop in the spool.
                for (path, name) in ArchiveNames.spoolCompanions(of: record.spoolPath) { _ = rename(path, folder + "/" + name) }
            } else {
                log(
                    record, "cannot move the drop to \(target): \(String(cString: strerror(errno))); it stays at \(record.spoolPath)", level: .warning
                )
            }
        }
        return folder
    }

    private func notification(
        _ outcome: WorkflowMachine.Outcome, record: WorkflowRecord, resources: [ResourceChange], swept: [String],
        trainingLoss: [EpochMetrics], report: String?
    ) async -> StepOutcome {
        let answers = (try? await store.answers(workflowID: id)) ?? []
        let facts = NotificationFacts.outcome(
            outcome, record: record, swept: swept, trainingLoss: trainingLoss, answers: answers, htmlReport: report)
        let entries = NotificationFacts.fanOut(
            OutboxEntry(workflowID: id, channel: "log", kind: outcome.rawValue, payload: facts),
            channels: await environment.notificationChannels())
        return .event(
            .notified, message: "notification queued (\(outcome.rawValue)) for \(entries.map(\.channel).joined(separator: ", "))",
            resources: resources, notifications: entries)
    }

    /// A backend call, counted for the crash tests: the fault hook fires after the answer
    /// arrived and before anything recorded it, the worst moment for a crash.
    func call<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await call(named: nil, body)
    }

    /// The same, under a name a test fault can pick (`abort-after-call=create-deployment`).
    func call<T: Sendable>(named name: String?, _ body: () async throws -> T) async throws -> T {
        do {
            let value = try await body()
            Faults.current.requestAnswered(name)
            return value
        } catch {
            Faults.current.requestAnswered()
            throw error
        }
    }

    /// Stops or deletes a resource. One the service says it does not know is done: recorded
    /// as gone, with a warning that names it, and never retried into a `cleanup_stuck` alarm.
    private func remove(
        _ kind: ResourceRecord.Kind, _ identifier: String, record: WorkflowRecord,
        backend: any CustomizationBackend
    ) async throws -> Removal {
        let removal = try await call { try await backend.remove(kind, identifier) }
        if case .alreadyGone(let detail) = removal {
            log(record, "the \(kind.words) \(identifier) was already gone (\(OneLine.of(detail, limit: 300))); recorded as removed", level: .warning)
        }
        return removal
    }

    /// A resource found by name after a restart is recorded unless the store already has it.
    private func knownResource(_ kind: ResourceRecord.Kind, _ identifier: String, name: String) async throws -> [ResourceChange] {
        let known = try await store.resources(workflowID: id).contains { $0.kind == kind && $0.identifier == identifier }
        return known ? [] : [.created(ResourceRecord(workflowID: id, kind: kind, identifier: identifier, name: name))]
    }

    /// Before a failed or cancelled workflow reports, it looks for anything created under its
    /// names that the store never learned of (a crash, or a cancel, between a create call and
    /// its record) and removes it: nothing paid may outlive the workflow unnoticed.
    private func sweepIfCleaning(record: WorkflowRecord, spec: WorkflowSpec, backend: any CustomizationBackend) async throws -> (
        [ResourceChange], [String]
    ) {
        guard record.stage == .cleaningUp || record.stage == .cancelling else { return ([], []) }
        let context = record.context
        var changes: [ResourceChange] = []
        var notes: [String] = []
        let jobName = ResourceNaming.name(spec.jobName, attempt: context.attempt)
        let token = ResourceNaming.clientToken(workflowID: id, attempt: context.attempt, step: "create-job")
        // Only what carries this workflow's proof is touched: its client token for a job, its
        // custom model for a throughput. A namesake belongs to someone else.
        if context.jobARN == nil, let job = try await call({ try await backend.findJob(name: jobName) }) {
            if job.clientToken != token {
                notes.append("a customization job named \(jobName) exists but was not created by this workflow (\(job.arn)); it was left alone")
            } else {
                if job.status == .inProgress || job.status == .stopping {
                    let removal = try await remove(.job, job.arn, record: record, backend: backend)
                    notes.append(removal.message("stopped", .job, job.arn, ", created before an interruption"))
                }
                changes += [
                    .created(ResourceRecord(workflowID: id, kind: .job, identifier: job.arn, name: jobName, recovered: true)),
                    .deleted(kind: .job, identifier: job.arn),
                ]
                if let model = job.customModelARN, context.customModelARN == nil {
                    let removal = try await remove(.customModel, model, record: record, backend: backend)
                    notes.append(removal.message("deleted", .customModel, model, ", created before an interruption"))
                    changes += [
                        .created(ResourceRecord(workflowID: id, kind: .customModel, identifier: model, recovered: true)),
                        .deleted(kind: .customModel, identifier: model),
                    ]
                }
            }
        }
        let servingName = ResourceNaming.name(spec.throughputName, attempt: context.attempt)
        let serving = context.serving, kind = serving.resourceKind
        if context.throughputARN == nil, let found = try await findServing(serving, name: servingName, backend: backend) {
            if found.modelARN == nil || found.modelARN != context.customModelARN {
                notes.append(
                    "a \(serving.words) named \(servingName) exists but does not serve this workflow's custom model (\(found.arn)); it was left alone"
                )
            } else {
                let removal = try await remove(kind, found.arn, record: record, backend: backend)
                notes.append(removal.message("deleted", kind, found.arn, ", created before an interruption"))
                changes += [
                    .created(ResourceRecord(workflowID: id, kind: kind, identifier: found.arn, name: servingName, recovered: true)),
                    .deleted(kind: kind, identifier: found.arn),
                ]
            }
        }
        return (changes, notes)
    }
}

/// A throughput or a deployment, as the serving steps need to know it.
struct ServingState {
    enum Phase { case pending, ready, failed }
    var arn: String
    /// The service's own word (`InService`, `Active`, `Creating`, …).
    var status: String
    var phase: Phase
    var message: String?
    var modelARN: String?
}

extension WorkflowRunner {
    /// What serves this workflow's model by name, if anything: found before creating one
    /// after a crash, and by the sweep.
    func findServing(_ serving: Serving, name: String, backend: any CustomizationBackend) async throws -> ServingState? {
        switch serving {
        case .provisioned:
            try await call { try await backend.findThroughput(name: name) }.map(Self.state)
        case .onDemand:
            try await call { try await backend.findDeployment(name: name) }.map(Self.state)
        }
    }

    func servingState(_ serving: Serving, arn: String, backend: any CustomizationBackend) async throws -> ServingState {
        switch serving {
        case .provisioned: Self.state(try await call { try await backend.throughput(arn) })
        case .onDemand: Self.state(try await call { try await backend.deployment(arn) })
        }
    }

    static func state(_ t: ThroughputState) -> ServingState {
        let phase: ServingState.Phase =
            switch t.status {
            case .inService: .ready
            case .failed: .failed
            case .creating, .updating: .pending
            }
        return ServingState(arn: t.arn, status: t.status.rawValue, phase: phase, message: t.message, modelARN: t.modelARN)
    }

    static func state(_ d: DeploymentState) -> ServingState {
        let phase: ServingState.Phase =
            switch d.status {
            case .active: .ready
            case .failed: .failed
            case .creating: .pending
            }
        return ServingState(arn: d.arn, status: d.status.rawValue, phase: phase, message: d.message, modelARN: d.modelARN)
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async -> T) async -> T? {
        guard let value = self else { return nil }
        return await transform(value)
    }
}

extension Removal {
    /// What the step's event says: what was done, or that there was nothing left to do.
    func message(_ verb: String, _ kind: ResourceRecord.Kind, _ identifier: String, _ note: String = "") -> String {
        switch self {
        case .removed: "\(verb) \(kind.words) \(identifier)\(note)"
        case .alreadyGone: "\(kind.words) \(identifier)\(note) was already gone at the service"
        }
    }
}
