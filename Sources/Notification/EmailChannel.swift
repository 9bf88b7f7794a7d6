import FinetunedConfig
import FinetunedNetwork
import FinetunedText
import FinetunedWorkflow
import Foundation

/// Notifications as email over SMTP: the multipart message `NotificationMessage` renders, to
/// the configured recipients. The password is read at delivery time from its file or systemd
/// credential (so a rotated password needs no reload) and never appears in an error.
struct EmailChannel: OutboxDispatcher.Channel {
    let settings: EmailSettings
    var name: String { "email" }

    func deliver(_ entry: OutboxEntry, facts: NotificationFacts?) async throws {
        guard let facts else { throw Failure(.notification, "the outbox entry \(entry.id ?? 0) holds no readable facts") }
        let host = ProcessInfo.processInfo.hostName
        let message = NotificationMessage(facts: facts).rfc5322(
            from: settings.from, to: settings.to, date: entry.createdAt,
            messageID: "\(facts.workflowID).\(entry.id ?? 0)@\(host)", boundary: "finetuned-\(facts.workflowID)-\(entry.id ?? 0)")
        let client = SMTPClient(
            .init(
                host: settings.host, port: settings.port, security: SMTPClient.Security(rawValue: settings.security.rawValue) ?? .starttls,
                username: settings.username, password: try settings.passwordFile.map { try Secret.read($0) }, caFile: settings.caFile))
        do {
            try await client.send(from: Self.address(settings.from), to: settings.to.map(Self.address), message: message)
        } catch {
            if case .outcomeUnknown = error {
                // The next attempt may deliver it a second time; say so where it will be read.
                throw Failure(.notification, "\(error); a retry may deliver a duplicate")
            }
            throw error
        }
    }

    /// `Name <addr@host>` → `addr@host`, for the envelope.
    static func address(_ text: String) -> String {
        guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close else {
            return text.trimmingCharacters(in: .whitespaces)
        }
        return String(text[text.index(after: open)..<close])
    }
}
