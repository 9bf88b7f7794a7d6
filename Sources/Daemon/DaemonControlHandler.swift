import AdapterKit
import FinetunedControl
import FinetunedMetrics
import FinetunedReport
import FinetunedText
import FinetunedTime
import FinetunedWorkflow
import Foundation
import Logging

/// Answers `finetunectl` requests from the daemon's state.
struct DaemonControlHandler: ControlRequestHandler {
    let runtime: DaemonRuntime
    /// Cancel and retry go to it; the runtime does not know the engine.
    let engine: WorkflowEngine
    let logger: Logger
    /// The backend of that name, built as workflows get it (for `status --whoami`).
    let backend: @Sendable (String) async throws -> any CustomizationBackend

    static let verbs = ControlVerb.allCases.map(\.rawValue)

    static func resource(_ r: ResourceRecord, now: Date = Date()) -> ResourceSummary {
        ResourceSummary(
            workflowID: r.workflowID, kind: r.kind.rawValue, identifier: r.identifier, createdAt: r.createdAt,
            ageSeconds: now.timeIntervalSince(r.createdAt), retained: r.retained, deletedAt: r.deletedAt)
    }

    static func detail(_ record: WorkflowRecord, archive: String, resources: [ResourceRecord], answers: [InferenceAnswer] = []) -> WorkflowDetail {
        var detail = WorkflowDetail(workflow: summary(record), sha256: record.sha256, spoolPath: record.spoolPath, archive: archive)
        let c = record.context
        detail.attempt = c.attempt
        detail.baseModel = c.spec?.baseModel
        detail.backend = c.spec?.backend
        detail.jobARN = c.jobARN
        detail.customModelARN = c.customModelARN
        detail.throughputARN = c.throughputARN
        detail.serviceStatus = c.lastServiceStatus
        detail.scores = c.scores.map {
            ScoreDetail(
                verdict: $0.verdict, reason: $0.reason, prompts: $0.prompts, excludedUnanswered: $0.excludedUnanswered,
                excludedLeaked: $0.excludedLeaked, meanBaseF1: $0.meanBaseF1, meanCustomF1: $0.meanCustomF1,
                confidenceLow: $0.confidenceLow, confidenceHigh: $0.confidenceHigh, winShare: $0.winShare)
        }
        detail.resources = resources.map { resource($0) }
        detail.evaluationPrompts = c.evaluationPrompts
        if !answers.isEmpty { detail.answered = Dictionary(grouping: answers, by: \.model).mapValues(\.count) }
        // The job's metric files, archived by the notify step: not looked for before (`watch`
        // asks for this every interval while the workflow runs).
        func file(_ name: String) -> String? {
            FileManager.default.contents(atPath: archive + "/" + name).map { String(decoding: $0, as: UTF8.self) }
        }
        if record.stage == .notified || record.stage.isTerminal, let stepWise = file(TrainingMetricsCSV.stepWiseName) {
            let epochs = TrainingMetricsCSV.epochs(stepWise: stepWise, validation: file(TrainingMetricsCSV.validationName))
            if !epochs.isEmpty {
                detail.trainingLoss = epochs.map(\.trainingLoss)
                let validation = epochs.compactMap(\.validationLoss)
                detail.validationLoss = validation.count == epochs.count ? validation : nil
            }
        }
        let report = archive + "/" + ReportFiles.report
        if FileManager.default.fileExists(atPath: report) { detail.report = report }
        return detail
    }

    static func summary(_ record: WorkflowRecord) -> WorkflowSummary {
        WorkflowSummary(
            id: record.id, profile: record.profile, dropName: record.dropName, stage: record.stage.rawValue,
            createdAt: record.createdAt, updatedAt: record.updatedAt, failure: record.failure)
    }

    /// Who may do what, from the configuration in force (a reload may change the groups).
    func access() async -> ControlAccess {
        let configuration = await runtime.configuration
        return ControlAccess(operatorGroupName: configuration.daemon.controlGroup, submitGroupName: configuration.inbox.submitGroup)
    }

    func handle(_ request: ControlRequest, peer: ControlPeer) async -> ControlAnswer {
        guard let verb = ControlVerb(rawValue: request.verb) else { return .failure(.unknownVerb(request.verb, known: Self.verbs)) }
        let role = await access().role(of: peer)
        let scope = ControlAccess.scope(of: role, for: verb)
        if case .refused(let why) = scope {
            logger.warning("control request refused: \(verb.rawValue) from \(peer): \(why)", metadata: ["peer": "\(peer)"])
            return .failure(ControlFailure(code: "permission_denied", message: why))
        }
        do {
            return try await handle(verb, request, peer: peer, scope: scope)
        } catch {
            return .failure(ControlFailure(code: "store", message: error.description))
        }
    }

    /// Each configured backend's identity, in name order; a backend that cannot be built or
    /// asked says why.
    private func identities() async -> [BackendIdentity] {
        var found: [BackendIdentity] = []
        for name in await runtime.configuration.backends.keys.sorted() {
            do {
                let backend = try await self.backend(name)
                // A status must answer: an STS that does not is reported, not waited for.
                guard let identity = try await Timers.withTimeout(.seconds(10), { try await backend.identity() }) else { continue }
                found.append(BackendIdentity(backend: name, identity: identity, error: nil))
            } catch {
                found.append(BackendIdentity(backend: name, identity: nil, error: "\(error)"))
            }
        }
        return found
    }

    /// Whether the scope lets this peer see `record`; a workflow it may not see is answered
    /// exactly like one that does not exist.
    static func visible(_ record: WorkflowRecord?, in scope: ControlScope) -> WorkflowRecord? {
        guard let record else { return nil }
        if case .ownWorkflows(let uid) = scope, record.ownerUID != uid { return nil }
        return record
    }

    private func handle(_ verb: ControlVerb, _ request: ControlRequest, peer: ControlPeer, scope: ControlScope) async throws(StoreError)
        -> ControlAnswer
    {
        switch verb {
        case .status:
            var status = await runtime.status()
            // Training data is storage, not billed by the hour; the rest is what costs money now.
            var live = try await runtime.store.liveResources().filter { $0.kind != .trainingData }
            if case .ownWorkflows = scope {
                var mine: [ResourceRecord] = []
                for resource in live where Self.visible(try await runtime.store.workflow(id: resource.workflowID), in: scope) != nil {
                    mine.append(resource)
                }
                live = mine
            }
            status.liveResources = live.map { Self.resource($0) }
            status.node = runtime.store.node.rawValue
            if runtime.store.isShared, scope == .everything {
                let now = Date()
                status.nodes = try await runtime.store.nodes().map {
                    NodeSummary(
                        id: $0.id.rawValue, version: $0.version, startedAt: $0.startedAt, heartbeatAt: $0.heartbeatAt,
                        heartbeatAgeSeconds: now.timeIntervalSince($0.heartbeatAt), workflowsHeld: $0.workflowsHeld)
                }
            }
            // Asking STS costs a call per backend: only when asked, and only for operators (the
            // roles a daemon acts as are the operators' business, not a submitter's).
            if request.arguments["whoami"] == "true" {
                guard await access().role(of: peer) == .operator else {
                    return .failure(ControlFailure(code: "permission_denied", message: "status --whoami is for root and the control group only"))
                }
                status.identities = await identities()
            }
            return .result(status)
        case .cancel, .retry:
            guard let id = request.arguments["id"] else { return .failure(.badRequest("\(request.verb) needs an id")) }
            guard Self.visible(try await runtime.store.workflow(id: id), in: scope) != nil else {
                return .failure(ControlFailure(code: "not_found", message: "no workflow \(OneLine.of(id, limit: 80))"))
            }
            logger.notice("\(request.verb) of \(id) requested over the control socket", metadata: ["peer": "\(peer)", "workflow_id": "\(id)"])
            do {
                let record = request.verb == "cancel" ? try await engine.cancel(id) : try await engine.retry(id)
                await runtime.refreshStatus()
                return .result(Self.summary(record))
            } catch {
                switch error {
                case .notFound: return .failure(ControlFailure(code: "not_found", message: error.description))
                case .refused: return .failure(ControlFailure(code: "refused", message: error.description))
                case .store: return .failure(ControlFailure(code: "store", message: error.description))
                }
            }
        case .metrics:
            let text = await MetricsRegistry.shared.exposition(store: runtime.store)
            return .result(MetricsText(text: String(decoding: text, as: UTF8.self)))
        case .adapters:
            let setup = await runtime.setup
            return .rawResult(json: AdapterListing.json(setup.adapters, today: runtime.loader.today()).serialized())
        case .list:
            // A number from a client: a negative one once trapped the daemon in `prefix`.
            let limitText = request.arguments["limit"] ?? "50"
            guard let limit = Int(limitText), (0...10_000).contains(limit) else {
                return .failure(.badRequest("limit must be a whole number from 0 to 10000, not '\(OneLine.of(limitText, limit: 40))'"))
            }
            let all = request.arguments["all"] == "true"
            var records =
                all
                ? try await runtime.store.recentWorkflows(limit: scope == .everything ? limit : 10_000)
                : try await runtime.store.workflows(in: Set(WorkflowStage.allCases.filter { !$0.isTerminal }))
            records = records.filter { Self.visible($0, in: scope) != nil }
            return .result(Array(records.prefix(limit)).map(Self.summary))
        case .show, .history:
            guard let id = request.arguments["id"] else { return .failure(.badRequest("\(request.verb) needs an id")) }
            guard let record = Self.visible(try await runtime.store.workflow(id: id), in: scope) else {
                return .failure(ControlFailure(code: "not_found", message: "no workflow \(OneLine.of(id, limit: 80))"))
            }
            if verb == .show {
                let archive = await runtime.configuration.paths.archive + "/" + id
                var detail = Self.detail(
                    record, archive: archive, resources: try await runtime.store.resources(workflowID: id),
                    answers: try await runtime.store.answers(workflowID: id))
                // On a store only this daemon uses, it drives everything: nothing to name.
                if runtime.store.isShared, let driver = try await runtime.store.driver(workflowID: id) {
                    // A finished workflow's last holder drives nothing any more.
                    detail.drivenBy = record.stage.isTerminal ? nil : driver.node?.rawValue
                    detail.leaseEpoch = driver.epoch
                    detail.pinnedTo = record.stage.isTerminal ? nil : driver.pinnedTo?.rawValue
                }
                return .result(detail)
            }
            let events = try await runtime.store.events(workflowID: id)
            var previous: Date?
            let entries = events.map { event -> HistoryEntry in
                defer { previous = event.at }
                return HistoryEntry(
                    at: event.at, stage: event.stage.rawValue, kind: event.kind.rawValue, message: event.message,
                    sincePrevious: previous.map { event.at.timeIntervalSince($0) })
            }
            return .result(entries)
        case .reload:
            logger.info("reload requested over the control socket", metadata: ["peer": "\(peer)"])
            return .result(await runtime.reload(trigger: "finetunectl (\(peer))"))
        }
    }
}
