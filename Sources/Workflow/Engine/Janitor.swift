import Foundation
import Logging

/// Runs at every start, before any workflow resumes: deletes what a finished workflow left
/// behind because its cleanup never completed (a crash, a bug, a database restored from a
/// backup), and says what it did. Kept resources and models kept for retry are left alone.
public struct Janitor: Sendable {
    let store: any WorkflowStore
    let environment: any WorkflowEnvironment
    let logger: Logger

    public init(store: any WorkflowStore, environment: any WorkflowEnvironment, logger: Logger) {
        self.store = store
        self.environment = environment
        self.logger = logger
    }

    public struct Report: Sendable, Equatable {
        public var deleted: [String] = []
        public var failed: [String] = []
    }

    /// What must go: a throughput or a running job of a finished workflow, or the custom
    /// model of a workflow that finished without keeping it (a failed one keeps it for retry).
    static func isLeftover(_ resource: ResourceRecord, of workflow: WorkflowRecord) -> Bool {
        guard workflow.stage.isTerminal, resource.deletedAt == nil, !resource.retained else { return false }
        switch resource.kind {
        case .throughput, .deployment, .job: return true
        case .customModel: return workflow.stage != .failed && !workflow.context.keepRejectedModels && workflow.context.keep != true
        case .trainingData: return false
        }
    }

    @discardableResult
    public func run() async -> Report {
        var report = Report()
        let live: [ResourceRecord]
        do { live = try await store.liveResources() } catch {
            logger.error("janitor: cannot read the resources: \(error)")
            return report
        }
        for listed in live {
            // Workflows resume while the janitor runs, so the list may be older than the
            // workflow: one that was `scored` when the list was read may be `done` now, having
            // kept this very throughput. The resource is judged as it is after the workflow's
            // read; a terminal workflow's resources no longer change.
            guard let workflow = try? await store.workflow(id: listed.workflowID), workflow.stage.isTerminal,
                let resource = try? await store.resources(workflowID: workflow.id)
                    .first(where: { $0.kind == listed.kind && $0.identifier == listed.identifier }),
                Self.isLeftover(resource, of: workflow), let spec = workflow.context.spec
            else { continue }
            let what = "\(resource.kind.words) \(resource.identifier) of workflow \(workflow.id) (\(workflow.stage.rawValue))"
            do {
                let backend = try await environment.backend(named: spec.backend)
                let id = resource.identifier
                let removal = try await backend.remove(resource.kind, id)
                let done: String
                switch removal {
                case .removed: done = "deleted leftover \(resource.kind.words) \(id)"
                case .alreadyGone: done = "leftover \(resource.kind.words) \(id) was already gone at the service"
                }
                try await store.markResourceDeleted(kind: resource.kind, identifier: id, at: Date())
                try await store.appendEvent(WorkflowEvent(workflowID: workflow.id, stage: workflow.stage, kind: .janitor, message: done))
                report.deleted.append(what)
                logger.warning(
                    "janitor: \(done) (workflow \(workflow.id), \(workflow.stage.rawValue))",
                    metadata: ["workflow_id": "\(workflow.id)", "profile": "\(workflow.profile)"])
            } catch {
                let words = ErrorWords.of(error)
                report.failed.append("\(what): \(words)")
                logger.error(
                    "janitor: cannot delete \(what): \(words); will try again at the next start",
                    metadata: ["workflow_id": "\(workflow.id)", "profile": "\(workflow.profile)"])
                let facts = NotificationFacts(
                    kind: "janitor_failed", workflowID: workflow.id, profile: workflow.profile, dropName: workflow.dropName,
                    attempt: workflow.context.attempt, stage: workflow.stage.rawValue, reason: words, scores: nil,
                    jobARN: nil, customModelARN: nil, throughputARN: nil, customModelRetained: false, cleanup: [],
                    headline: "finetuned could not delete leftover \(what): \(words)")
                let entry = OutboxEntry(workflowID: workflow.id, channel: "log", kind: "janitor_failed", payload: facts.json)
                try? await store.enqueue(NotificationFacts.fanOut(entry, channels: await environment.notificationChannels()))
                await environment.notificationsQueued()
            }
        }
        if !report.deleted.isEmpty || !report.failed.isEmpty {
            logger.notice("janitor: \(report.deleted.count) leftovers deleted, \(report.failed.count) could not be")
        }
        return report
    }
}
