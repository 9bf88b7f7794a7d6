import FinetunedConfig
import FinetunedNetwork
import FinetunedText
import FinetunedWorkflow
import Foundation

/// Notifications through Amazon SES v2, as the reference workflow sent them: the same MIME
/// message as the SMTP channel, signed with SigV4 and credentials from the standard chain.
/// The chain lives as long as the channel, so temporary credentials are reused until they
/// near expiry rather than fetched for every message.
struct SESChannel: OutboxDispatcher.Channel {
    let settings: SESSettings
    let credentials: CredentialChain
    let environment: [String: String]
    var name: String { "ses" }

    init(
        settings: SESSettings, environment: [String: String] = ProcessInfo.processInfo.environment,
        credentials: CredentialChain? = nil
    ) {
        self.settings = settings
        self.environment = environment
        self.credentials = credentials ?? CredentialChain.standard(environment: environment)
    }

    func client() throws -> SESv2Client {
        let shared = try? SharedConfig.load(environment: environment)
        let endpoints = try AWSEndpoints(
            configuredRegion: settings.region, fips: nil, configuredEndpoint: nil,
            configuredServiceEndpoints: settings.endpointURL.map { [.sesv2: $0] } ?? [:],
            environment: environment, shared: shared)
        return SESv2Client(client: AWSServiceClient(service: .sesv2, endpoints: endpoints, credentials: credentials))
    }

    func deliver(_ entry: OutboxEntry, facts: NotificationFacts?) async throws {
        guard let facts else { throw Failure(.notification, "the outbox entry \(entry.id ?? 0) holds no readable facts") }
        let message = NotificationMessage(facts: facts).rfc5322(
            from: settings.from, to: settings.to, date: entry.createdAt,
            messageID: "\(facts.workflowID).\(entry.id ?? 0)@\(ProcessInfo.processInfo.hostName)",
            boundary: "finetuned-\(facts.workflowID)-\(entry.id ?? 0)")
        do {
            _ = try await client().sendRawEmail(
                from: EmailChannel.address(settings.from), to: settings.to.map(EmailChannel.address),
                message: message, configurationSet: settings.configurationSet)
        } catch let error as AWSError {
            throw Failure(.notification, "SES SendEmail: \(error.description)")
        }
    }
}
