import FinetunedControl
import AdapterKit
import Logging

/// Answers `finetunectl` requests from the daemon's state.
struct DaemonControlHandler: ControlRequestHandler {
    let runtime: DaemonRuntime
    let logger: Logger

    static let verbs = ["adapters", "reload", "status"]

    func handle(_ request: ControlRequest, peer: ControlPeer) async -> ControlAnswer {
        switch request.verb {
        case "status":
            return .result(await runtime.status())
        case "adapters":
            let setup = await runtime.setup
            return .rawResult(json: AdapterListing.json(setup.adapters, today: runtime.loader.today()).serialized())
        case "reload":
            logger.info("reload requested over the control socket", metadata: ["peer": "\(peer)"])
            return .result(await runtime.reload(trigger: "finetunectl (\(peer))"))
        default:
            return .failure(.unknownVerb(request.verb, known: Self.verbs))
        }
    }
}
