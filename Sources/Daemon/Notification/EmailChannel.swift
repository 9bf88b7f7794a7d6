import FinetunedConfig
import FinetunedNetwork
import FinetunedWorkflow
import Foundation

/// Notifications as email over SMTP: the multipart message `NotificationMessage` renders, to
/// the configured recipients. The password is read at delivery time from its file or systemd
/// credential (so a rotated password needs no reload) and never appears in an error.
struct EmailChannel: OutboxDispatcher.Channel {
    let settings: EmailSettings
    var name: String { "email" }

    func deliver(_ entry: OutboxEntry, facts: NotificationFacts?) async throws {
        guard let facts else { throw ChannelError("the outbox entry \(entry.id ?? 0) holds no readable facts") }
        let host = ProcessInfo.processInfo.hostName
        let message = NotificationMessage(facts: facts).rfc5322(
            from: settings.from, to: settings.to, date: entry.createdAt,
            messageID: "\(facts.workflowID).\(entry.id ?? 0)@\(host)", boundary: "finetuned-\(facts.workflowID)-\(entry.id ?? 0)")
        let client = SMTPClient(.init(
            host: settings.host, port: settings.port, security: SMTPClient.Security(rawValue: settings.security.rawValue) ?? .starttls,
            username: settings.username, password: try settings.passwordFile.map(Self.secret), caFile: settings.caFile))
        do {
            try await client.send(from: Self.address(settings.from), to: settings.to.map(Self.address), message: message)
        } catch {
            if case .outcomeUnknown = error {
                // The next attempt may deliver it a second time; say so where it will be read.
                throw ChannelError("\(error); a retry may deliver a duplicate")
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

    /// A secret from an absolute path, or by name from `$CREDENTIALS_DIRECTORY` (systemd's
    /// `LoadCredential=`); the trailing newline an editor adds is not part of it.
    static func secret(_ reference: String) throws -> String {
        let path: String
        if reference.hasPrefix("/") {
            path = reference
        } else if let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"] {
            path = directory + "/" + reference
        } else {
            throw ChannelError("the secret '\(reference)' is not a path and no systemd credentials were passed (LoadCredential=)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ChannelError("cannot read the secret file \(path)")
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.last == "\n" || text.last == "\r\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
