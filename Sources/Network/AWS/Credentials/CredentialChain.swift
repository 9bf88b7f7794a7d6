import FinetunedText
import Foundation

/// The providers in the order the SDKs use, with systemd's credential added after the
/// environment: environment keys → the environment's web identity (`AWS_ROLE_ARN` +
/// `AWS_WEB_IDENTITY_TOKEN_FILE`) → `$CREDENTIALS_DIRECTORY/aws` → the shared files' profile
/// (assumed role, keys, credential_process) → container → instance metadata. The first that answers wins; one that is configured but broken stops
/// the chain with its error.
///
/// Temporary credentials are reused until five minutes before they expire, then fetched
/// again; concurrent callers share one fetch.
public actor CredentialChain {
    public nonisolated let providers: [any CredentialsProvider]
    /// Told of every fresh set (for a log line naming its source; never the secret).
    public nonisolated let onFetch: @Sendable (ProvidedCredentials) -> Void
    let refreshMargin: TimeInterval
    let now: @Sendable () -> Date
    private var cached: ProvidedCredentials?
    private var inFlight: Task<ProvidedCredentials, any Error>?

    public init(
        providers: [any CredentialsProvider], refreshMargin: TimeInterval = 300,
        now: @escaping @Sendable () -> Date = { Date() }, onFetch: @escaping @Sendable (ProvidedCredentials) -> Void = { _ in }
    ) {
        self.providers = providers
        self.onFetch = onFetch
        self.refreshMargin = refreshMargin
        self.now = now
    }

    /// - Parameter instanceMetadataTimeout: how long to wait for IMDS, which off EC2 never
    ///   answers; one second, as in the SDKs.
    public static func standard(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        instanceMetadataTimeout: Duration = .seconds(1),
        onFetch: @escaping @Sendable (ProvidedCredentials) -> Void = { _ in }
    ) -> CredentialChain {
        CredentialChain(
            providers: [
                EnvironmentCredentials(environment: environment),
                WebIdentityCredentials(environment: environment),
                SystemdCredentials(environment: environment),
                SharedFileCredentials(environment: environment),
                ContainerCredentials(environment: environment),
                InstanceMetadataCredentials(environment: environment, client: HTTPTransport(timeout: instanceMetadataTimeout)),
            ], onFetch: onFetch)
    }

    public func current() async throws(Failure) -> ProvidedCredentials {
        if let cached, !needsRefresh(cached) { return cached }
        let task: Task<ProvidedCredentials, any Error>
        if let inFlight {
            task = inFlight
        } else {
            let providers = self.providers
            task = Task { try await Self.firstAnswer(providers) }
            inFlight = task
        }
        defer { inFlight = nil }
        do {
            let fresh = try await task.value
            if cached != fresh { onFetch(fresh) }
            cached = fresh
            return fresh
        } catch let error as Failure {
            throw error
        } catch {
            throw Failure(.credentials, "\(error)")
        }
    }

    /// Forgets the cached credentials (after the service rejected them as expired).
    public func invalidate() { cached = nil }

    func needsRefresh(_ credentials: ProvidedCredentials) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration.timeIntervalSince(now()) < refreshMargin
    }

    static func firstAnswer(_ providers: [any CredentialsProvider]) async throws -> ProvidedCredentials {
        for provider in providers {
            if let found = try await provider.resolve() { return found }
        }
        throw Failure(
            .credentials,
            "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, give the service a systemd credential 'aws' (LoadCredential=aws:…), configure a profile in the shared files, or run with a container or instance role"
        )
    }
}
