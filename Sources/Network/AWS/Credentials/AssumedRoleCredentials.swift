import FinetunedText
import Foundation

/// A profile's credentials as the AWS CLI resolves them for a process that cannot prompt:
///
/// - `role_arn` with `source_profile` (whose own credentials may come from another assumed
///   role: chains, with a loop reported), with `credential_source = Environment |
///   Ec2InstanceMetadata | EcsContainer`, or with `web_identity_token_file`; then
///   `AssumeRole` (or `AssumeRoleWithWebIdentity`) with `role_session_name` (default
///   `finetuned-<host>`), `duration_seconds` and `external_id`;
/// - else the profile's static keys; else its `credential_process`.
///
/// `mfa_serial` and SSO are refused by name, with what to use instead: a daemon has nobody to
/// type a code or open a browser.
struct ProfileCredentials: Sendable {
    let environment: [String: String]

    func resolve(_ profile: SharedConfig) async throws(Failure) -> ProvidedCredentials? {
        try await resolve(profile, visited: [])
    }

    private func resolve(_ profile: SharedConfig, visited: [String]) async throws(Failure) -> ProvidedCredentials? {
        let settings = profile.settings
        let name = "profile \(profile.profileName)"
        if let role = settings["role_arn"] {
            return try await assume(role, profile: profile, visited: visited)
        }
        if let keys = try SharedFileCredentials.credentials(in: profile) { return keys }
        if let command = settings["credential_process"] {
            return try await CredentialProcess(commandLine: command, profile: profile.profileName, environment: environment).run()
        }
        if let key = ["sso_session", "sso_start_url", "sso_account_id"].first(where: { settings[$0] != nil }) {
            throw Failure(
                .credentials,
                "\(name) uses \(key) (AWS IAM Identity Center), which needs a person to log in through a browser; "
                    + "for a daemon, use role_arn with source_profile or credential_source, web_identity_token_file, or credential_process")
        }
        if settings["web_identity_token_file"] != nil {
            throw Failure(.credentials, "\(name) has web_identity_token_file without role_arn: name the role to assume")
        }
        return nil
    }

    private func assume(_ role: String, profile: SharedConfig, visited: [String]) async throws(Failure) -> ProvidedCredentials {
        let settings = profile.settings
        let name = "profile \(profile.profileName)"
        if settings["mfa_serial"] != nil {
            throw Failure(
                .credentials,
                "\(name) assumes \(role) with mfa_serial, and a daemon cannot be asked for an MFA code: give the daemon an "
                    + "identity the role trusts without MFA (source_profile, credential_source or web_identity_token_file), or a credential_process")
        }
        let request = try roleRequest(role, settings: settings, name: name)
        let sts = try STSClient(endpoints: .sts(environment: environment, shared: profile))
        if let tokenFile = settings["web_identity_token_file"] {
            let token = try WebIdentityCredentials.token(from: tokenFile)
            let session = try await sts.assumeRoleWithWebIdentity(request, token: token)
            return ProvidedCredentials(
                credentials: session.credentials, expiration: session.expiration,
                source: "assumed role \(role) via web identity token \(tokenFile) (\(name))")
        }
        let source: ProvidedCredentials
        let via: String
        if let sourceName = settings["source_profile"] {
            let chain = visited + [profile.profileName]
            if sourceName == profile.profileName {
                // A profile may name itself: its own keys are the source (as the AWS CLI does).
                guard let keys = try SharedFileCredentials.credentials(in: profile) else {
                    throw Failure(.credentials, "\(name) names itself as source_profile but has no aws_access_key_id and aws_secret_access_key")
                }
                source = keys
            } else if chain.contains(sourceName) {
                throw Failure(
                    .credentials,
                    "source_profile loop: " + (chain + [sourceName]).joined(separator: " → ") + "; one of them must have keys of its own")
            } else {
                let next = profile.profile(sourceName)
                guard next.exists else { throw Failure(.credentials, "\(name): its source_profile \(sourceName) does not exist in the shared files") }
                guard let found = try await resolve(next, visited: chain) else {
                    throw Failure(.credentials, "\(name): its source_profile \(sourceName) has no credentials (keys, credential_process or role_arn)")
                }
                source = found
            }
            via = "via source profile \(sourceName)"
        } else if let kind = settings["credential_source"] {
            let provider: any CredentialsProvider
            switch kind {
            case "Environment": provider = EnvironmentCredentials(environment: environment)
            case "Ec2InstanceMetadata": provider = InstanceMetadataCredentials(environment: environment)
            case "EcsContainer": provider = ContainerCredentials(environment: environment)
            default:
                throw Failure(.credentials, "\(name): credential_source = \(kind) is not one of Environment, Ec2InstanceMetadata, EcsContainer")
            }
            guard let found = try await provider.resolve() else {
                throw Failure(.credentials, "\(name): credential_source = \(kind) found no credentials")
            }
            source = found
            via = "via credential_source \(kind)"
        } else {
            throw Failure(
                .credentials,
                "\(name) has role_arn but nothing to assume it with: add source_profile, credential_source or web_identity_token_file")
        }
        let session = try await sts.assumeRole(request, as: source)
        return ProvidedCredentials(credentials: session.credentials, expiration: session.expiration, source: "assumed role \(role) \(via)")
    }

    private func roleRequest(_ role: String, settings: [String: String], name: String) throws(Failure) -> STSClient.RoleRequest {
        var duration: Int?
        if let text = settings["duration_seconds"] {
            guard let seconds = Int(text), (900...43_200).contains(seconds) else {
                throw Failure(.credentials, "\(name): duration_seconds must be a whole number from 900 to 43200, not '\(text)'")
            }
            duration = seconds
        }
        return STSClient.RoleRequest(
            roleARN: role, sessionName: try WebIdentityCredentials.sessionName(settings["role_session_name"], in: name),
            durationSeconds: duration, externalID: settings["external_id"])
    }
}

/// IAM Roles for Service Accounts (EKS) and the like: `AWS_ROLE_ARN` and
/// `AWS_WEB_IDENTITY_TOKEN_FILE` (and `AWS_ROLE_SESSION_NAME`) in the environment. The token
/// file is read at every refresh, because whoever mounts it rotates it.
public struct WebIdentityCredentials: CredentialsProvider {
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func resolve() async throws(Failure) -> ProvidedCredentials? {
        let role = environment["AWS_ROLE_ARN"].flatMap { $0.isEmpty ? nil : $0 }
        let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        guard role != nil || tokenFile != nil else { return nil }
        guard let role, let tokenFile else {
            throw Failure(
                .credentials,
                "AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE go together; only \(role == nil ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN") is set"
            )
        }
        let request = STSClient.RoleRequest(
            roleARN: role, sessionName: try Self.sessionName(environment["AWS_ROLE_SESSION_NAME"], in: "AWS_ROLE_SESSION_NAME"))
        let endpoints = try AWSEndpoints.sts(environment: environment, shared: nil)
        let session = try await STSClient(endpoints: endpoints).assumeRoleWithWebIdentity(request, token: try Self.token(from: tokenFile))
        return ProvidedCredentials(
            credentials: session.credentials, expiration: session.expiration,
            source: "assumed role \(role) via web identity token \(tokenFile) (environment)")
    }

    /// The token as the file holds it now, without surrounding whitespace.
    static func token(from path: String) throws(Failure) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(.credentials, "cannot read the web identity token file \(path)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw Failure(.credentials, "the web identity token file \(path) is empty") }
        return token
    }

    /// A configured session name, checked as STS would (2–64 of `[A-Za-z0-9+=,.@_-]`), or
    /// `finetuned-<host>` so that CloudTrail names the machine.
    static func sessionName(_ configured: String?, in source: String) throws(Failure) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-")
        if let configured {
            guard (2...64).contains(configured.count), configured.allSatisfy(allowed.contains) else {
                throw Failure(.credentials, "\(source): role session name '\(configured)' must be 2 to 64 of letters, digits and +=,.@_-")
            }
            return configured
        }
        let host = ProcessInfo.processInfo.hostName.filter(allowed.contains)
        return String(("finetuned-" + (host.isEmpty ? "daemon" : host)).prefix(64))
    }
}

extension AWSEndpoints {
    /// Where credentials are asked of STS: the region of the profile or the environment, or
    /// us-east-1 when none is set (an identity is often resolved before any region is
    /// known); `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the profile's `services` and
    /// `ca_bundle` honoured. A region that is set but malformed is an error, not us-east-1.
    static func sts(environment: [String: String], shared: SharedConfig?) throws(Failure) -> AWSEndpoints {
        let regionSet = [environment["AWS_REGION"], environment["AWS_DEFAULT_REGION"], shared?.region].contains { !($0 ?? "").isEmpty }
        return try AWSEndpoints(
            configuredRegion: regionSet ? nil : "us-east-1", fips: nil, configuredEndpoint: nil, configuredServiceEndpoints: [:],
            environment: environment, shared: shared)
    }
}
