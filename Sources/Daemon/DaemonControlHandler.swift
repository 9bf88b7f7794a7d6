import FinetunedControl
import FinetunedWorkflow
import Foundation
import AdapterKit
import Logging

/// Answers `finetunectl` requests from the daemon's state.
struct DaemonControlHandler: ControlRequestHandler {
    let runtime: DaemonRuntime
    let logger: Logger

    static let verbs = ["adapters", "history", "list", "reload", "show", "status"]

    static func summary(_ record: WorkflowRecord) -> WorkflowSummary {
        WorkflowSummary(id: record.id, profile: record.profile, dropName: record.dropName, stage: record.stage.rawValue,
                        createdAt: record.createdAt, updatedAt: record.updatedAt, failure: record.failure)
    }

    func handle(_ request: ControlRequest, peer: ControlPeer) async -> ControlAnswer {
        switch request.verb {
        case "status":
            return .result(await runtime.status())
        case "adapters":
            let setup = await runtime.setup
            return .rawResult(json: AdapterListing.json(setup.adapters, today: runtime.loader.today()).serialized())
        case "list":
            let limit = Int(request.arguments["limit"] ?? "") ?? 50
            let all = request.arguments["all"] == "true"
            do {
                let records = all
                    ? try await runtime.store.recentWorkflows(limit: limit)
                    : try await runtime.store.workflows(in: Set(WorkflowStage.allCases.filter { !$0.isTerminal }))
                return .result(Array(records.prefix(limit)).map(Self.summary))
            } catch {
                return .failure(ControlFailure(code: "store", message: error.description))
            }
        case "show", "history":
            guard let id = request.arguments["id"] else { return .failure(.badRequest("\(request.verb) needs an id")) }
            do {
                guard let record = try await runtime.store.workflow(id: id) else {
                    return .failure(ControlFailure(code: "not_found", message: "no workflow \(id)"))
                }
                if request.verb == "show" {
                    let archive = await runtime.configuration.paths.archive + "/" + id
                    return .result(WorkflowDetail(workflow: Self.summary(record), sha256: record.sha256, spoolPath: record.spoolPath, archive: archive))
                }
                let events = try await runtime.store.events(workflowID: id)
                var previous: Date?
                let entries = events.map { event -> HistoryEntry in
                    defer { previous = event.at }
                    return HistoryEntry(at: event.at, stage: event.stage.rawValue, kind: event.kind, message: event.message,
                                        sincePrevious: previous.map { event.at.timeIntervalSince($0) })
                }
                return .result(entries)
            } catch {
                return .failure(ControlFailure(code: "store", message: error.description))
            }
        case "reload":
            logger.info("reload requested over the control socket", metadata: ["peer": "\(peer)"])
            return .result(await runtime.reload(trigger: "finetunectl (\(peer))"))
        default:
            return .failure(.unknownVerb(request.verb, known: Self.verbs))
        }
    }
}
