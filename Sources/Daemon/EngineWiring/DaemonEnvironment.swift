import AdapterKit
import FinetunedAdapters
import FinetunedConfig
import FinetunedInbox
import FinetunedText
import FinetunedValidation
import FinetunedWorkflow
import Foundation

#if canImport(CMalloc)
    import CMalloc
#endif

/// The engine's `WorkflowEnvironment`: the configuration in force (through the runtime, so a
/// reload reaches workflows that start afterwards), the backends, the adapters and BERTScore.
struct DaemonEnvironment: WorkflowEnvironment {
    let runtime: DaemonRuntime
    let registry: BackendRegistry
    let layout: InboxLayout
    let evaluator: any WorkflowEvaluator
    let outbox: OutboxDispatcher
    /// The model worker BERTScore and the local backend share; ended when the engine is idle.
    let models: ModelServer

    func spec(for workflow: WorkflowRecord) async throws -> WorkflowSpec {
        let setup = await runtime.setup
        guard let profile = setup.profiles[workflow.profile] else {
            throw Failure(.specification, "profile '\(workflow.profile)' is not configured now (removed, or refused by the last reload)")
        }
        var sidecar = Sidecar()
        let sidecarPath = layout.spoolSidecar(workflow.id)
        if let text = try? String(contentsOfFile: sidecarPath, encoding: .utf8) {
            sidecar = try Sidecar.parse(text: text, file: sidecarPath)
        }
        if let refusal = profile.paidJobRefusal(today: runtime.loader.today()) { throw Failure(.specification, refusal) }
        let hyperparameters: [String: String]
        do {
            hyperparameters = try HyperparameterResolution.resolve(
                profile.profile.hyperparameters.merging(sidecar.hyperparameters) { $1 }, for: profile.model)
        } catch {
            throw Failure(.specification, error.problems.map(\.message).joined(separator: "; "))
        }
        // Admission copied the sets this drop is judged and validated on into the spool
        // (the archive after the end), checked before anything was paid. Workflows admitted
        // by an older version fall back to the profile's sets.
        let evaluationCopy = copy(of: .evaluation, for: workflow.id)
        guard let evaluationSet = evaluationCopy ?? profile.profile.evaluationSet else {
            throw Failure(
                .specification,
                "profile '\(workflow.profile)' has no evaluation_set, so the custom model could not be compared with the base model; nothing was started"
            )
        }
        // Admitted by this version (its evaluation set was copied): the validation set is the
        // copy admission checked, or none; a reload that added one since does not apply.
        let validationSet = evaluationCopy != nil ? copy(of: .validation, for: workflow.id) : profile.profile.validationSet
        if let validationSet, evaluationCopy == nil {
            let report = DropValidation.validate(path: validationSet, profile: profile, role: .validation, today: runtime.loader.today())
            if !report.isValid {
                let first = report.problems.first { $0.severity == .error }
                throw Failure(
                    .specification,
                    "the validation set \(validationSet) is not valid for \(profile.model.id): "
                        + (first.map { ($0.line > 0 ? "line \($0.line): " : "") + $0.message } ?? "\(report.errorCount) errors")
                        + "; nothing was started")
            }
        }
        let stem = ResourceNaming.sanitize("finetuned-\(workflow.id)")
        return WorkflowSpec(
            adapter: profile.profile.adapter, baseModel: profile.model.id, backend: profile.profile.backend,
            hyperparameters: hyperparameters, evaluationSet: evaluationSet,
            jobName: sidecar.jobName.map { "\($0)-\(workflow.id)" } ?? stem,
            customModelName: "\(sidecar.customModelName ?? ResourceNaming.prefix(workflow.profile))-\(workflow.id)",
            throughputName: stem, keepRejectedModels: profile.profile.keepRejectedModels,
            baseInferenceModel: profile.model.inferenceID, validationSet: validationSet,
            serving: profile.servesOnDemand ? .onDemand : .provisioned, keepServing: profile.profile.keep == .modelAndServing,
            inference: InferenceSpec(profile.profile.inference),
            teacherModel: profile.profile.customization == "distillation" ? profile.profile.teacherModel : nil)
    }

    /// The daemon's copy of a set for this workflow: in the spool while it runs, in its
    /// archive folder once it has finished.
    private func copy(of companion: Companion, for workflowID: String) -> String? {
        [layout.spoolCompanion(workflowID, companion), layout.archiveFolder(workflowID) + "/" + Self.archivedName(companion)]
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    static func archivedName(_ companion: Companion) -> String {
        ArchiveNames.name(forSuffix: companion.suffix) ?? companion.rawValue
    }

    func backend(named name: String) async throws -> any CustomizationBackend {
        guard let configuration = await runtime.configuration.backends[name] else {
            throw Failure(.specification, "backend '\(name)' is not configured now (removed by a reload?)")
        }
        return try await registry.backend(for: configuration)
    }

    func codec(for spec: WorkflowSpec) async throws -> any InvocationCodec {
        guard let loaded = await runtime.setup.adapters.adapters[spec.adapter] else {
            throw Failure(.specification, "adapter '\(spec.adapter)' is not loaded now")
        }
        return AdapterCodec(adapter: loaded, baseModel: spec.baseModel, parameters: InferenceParameters(spec.inference))
    }

    func archiveFolder(for workflowID: String) -> String { layout.archiveFolder(workflowID) }

    func notificationChannels() async -> [String] {
        OutboxDispatcher.channels(for: await runtime.configuration.notifications, logger: runtime.logger).map(\.name)
    }

    func extraTags() async -> [String: String] { [:] }

    func notificationsQueued() async { outbox.poke() }

    func stageChanged() async { await runtime.statusChanged() }

    /// A daemon at rest keeps what it needs to wait, not what its last workflow used: the
    /// model worker ends, SQLite's caches go, and the freed heap goes back to the system
    /// (glibc keeps the freed parts of its arenas otherwise).
    func engineWentIdle() async {
        await models.stop()
        await runtime.store.releaseMemory()
        #if canImport(CMalloc)
            malloc_trim(0)
        #endif
    }
}

extension InferenceSpec {
    init(_ settings: InferenceSettings) {
        self.init(
            maxTokens: settings.maxTokens, temperature: settings.temperature, topP: settings.topP, topK: settings.topK,
            stopSequences: settings.stopSequences)
    }
}

extension InferenceParameters {
    init(_ spec: InferenceSpec?) {
        self.init(
            maxTokens: spec?.maxTokens, temperature: spec?.temperature, topP: spec?.topP, topK: spec?.topK,
            stopSequences: spec?.stopSequences ?? [])
    }
}
