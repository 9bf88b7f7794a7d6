import AdapterKit
import FinetunedAdapters
import FinetunedConfig
import FinetunedInbox
import FinetunedModelWorker
import FinetunedNotification
import FinetunedReport
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
        guard let profile = await runtime.setup.profiles[workflow.profile] else {
            throw Failure(.specification, "profile '\(workflow.profile)' is not configured now (removed, or refused by the last reload)")
        }
        return try AdmittedDrop(workflow, layout: layout).specification(profile: profile, today: runtime.loader.today())
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

    func writeReport(record: WorkflowRecord, outcome: WorkflowMachine.Outcome, trainingLoss: [EpochMetrics]) async -> String? {
        do {
            guard
                let request = try await ReportRequest.gather(
                    record: record, outcome: outcome, trainingLoss: trainingLoss, archiveFolder: layout.archiveFolder(record.id),
                    store: runtime.store)
            else { return nil }
            return try await models.writeReport(request)
        } catch {
            // The notification goes out without it; the archive keeps everything the report shows.
            runtime.logger.error("cannot write the report of \(record.id): \(error)", metadata: ["workflow_id": "\(record.id)"])
            return nil
        }
    }

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

extension InferenceParameters {
    init(_ spec: InferenceSpec?) {
        self.init(
            maxTokens: spec?.maxTokens, temperature: spec?.temperature, topP: spec?.topP, topK: spec?.topK,
            stopSequences: spec?.stopSequences ?? [])
    }
}
