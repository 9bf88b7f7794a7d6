import FinetunedInbox
import ServiceLifecycle

/// Runs the inbox in the service group; a stop ends the watch at once (a drop being claimed
/// finishes its claim first, since claims do not check for cancellation).
struct InboxService: Service, CustomStringConvertible {
    /// The name the service group logs it by; interpolating the struct itself would reflect over
    /// every field (configuration included).
    var description: String { "inbox" }

    let inbox: Inbox
    let ready: @Sendable () async -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await inbox.run(ready: ready)
        }
    }
}
