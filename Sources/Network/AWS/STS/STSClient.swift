import FinetunedText
import Foundation

/// AWS Security Token Service over its Query protocol (form-encoded POST, XML answers):
/// `AssumeRole` signed with the source identity's keys, `AssumeRoleWithWebIdentity` unsigned
/// as the SDKs send it (the token is the proof), and `GetCallerIdentity`.
public struct STSClient: Sendable {
    public let endpoints: AWSEndpoints
    let http: HTTPTransport

    public init(endpoints: AWSEndpoints, http: HTTPTransport? = nil) {
        self.endpoints = endpoints
        self.http = http ?? HTTPTransport(timeout: .seconds(30), caFile: endpoints.caBundle)
    }

    /// What STS hands out: temporary keys, when they expire, and whose they are.
    public struct Session: Sendable, Equatable {
        public var credentials: AWSCredentials
        public var expiration: Date
        public var assumedRoleARN: String
    }

    public struct RoleRequest: Sendable, Equatable {
        public var roleARN: String
        public var sessionName: String
        public var durationSeconds: Int?
        public var externalID: String?

        public init(roleARN: String, sessionName: String, durationSeconds: Int? = nil, externalID: String? = nil) {
            self.roleARN = roleARN
            self.sessionName = sessionName
            self.durationSeconds = durationSeconds
            self.externalID = externalID
        }

        var parameters: [(String, String)] {
            [("RoleArn", roleARN), ("RoleSessionName", sessionName)]
                + (durationSeconds.map { [("DurationSeconds", String($0))] } ?? [])
                + (externalID.map { [("ExternalId", $0)] } ?? [])
        }
    }

    public func assumeRole(_ request: RoleRequest, as source: ProvidedCredentials) async throws(Failure) -> Session {
        let xml = try await signedCall("AssumeRole", request.parameters, as: source)
        return try Self.session(from: xml, action: "AssumeRole", role: request.roleARN)
    }

    public func assumeRoleWithWebIdentity(_ request: RoleRequest, token: String) async throws(Failure) -> Session {
        let body = Self.form(action: "AssumeRoleWithWebIdentity", request.parameters + [("WebIdentityToken", token)])
        let response: HTTPResponse
        do {
            response = try await http.send(
                HTTPRequest(
                    method: "POST", url: endpoints.url(for: .sts) + "/",
                    headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body: body))
        } catch {
            throw Failure(.credentials, "STS AssumeRoleWithWebIdentity for \(request.roleARN): \(error.description)")
        }
        guard (200..<300).contains(response.status) else {
            throw Failure(.credentials, "STS AssumeRoleWithWebIdentity for \(request.roleARN): \(AWSError.parse(response).description)")
        }
        return try Self.session(from: response.text, action: "AssumeRoleWithWebIdentity", role: request.roleARN)
    }

    /// The ARN these credentials act as (an assumed role's session, a user).
    public func callerIdentity(_ credentials: ProvidedCredentials) async throws(Failure) -> String {
        let xml = try await signedCall("GetCallerIdentity", [], as: credentials)
        guard let arn = XMLText.first("Arn", in: xml), !arn.isEmpty else {
            throw Failure(.credentials, "STS GetCallerIdentity answered without an Arn")
        }
        return arn
    }

    private func signedCall(_ action: String, _ parameters: [(String, String)], as source: ProvidedCredentials) async throws(Failure)
        -> String
    {
        let client = AWSServiceClient(
            service: .sts, endpoints: endpoints, credentials: CredentialChain(providers: [FixedCredentials(source)]),
            http: http)
        do {
            let response = try await client.send(
                "POST", path: "/", headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                body: Self.form(action: action, parameters))
            return response.text
        } catch {
            throw Failure(.credentials, "STS \(action) as \(source.source): \(error.description)")
        }
    }

    static func form(action: String, _ parameters: [(String, String)]) -> [UInt8] {
        let all = [("Action", action), ("Version", "2011-06-15")] + parameters
        return Array(all.map { SigV4Signer.encode($0.0) + "=" + SigV4Signer.encode($0.1) }.joined(separator: "&").utf8)
    }

    static func session(from xml: String, action: String, role: String) throws(Failure) -> Session {
        guard let block = XMLText.elements("Credentials", in: xml).first,
            let key = XMLText.first("AccessKeyId", in: block), !key.isEmpty,
            let secret = XMLText.first("SecretAccessKey", in: block), !secret.isEmpty,
            let token = XMLText.first("SessionToken", in: block), !token.isEmpty
        else {
            throw Failure(.credentials, "STS \(action) for \(role) answered without credentials")
        }
        guard let text = XMLText.first("Expiration", in: block), let expiration = CredentialTime.parse(text) else {
            throw Failure(.credentials, "STS \(action) for \(role) answered without a readable Expiration")
        }
        let arn = XMLText.elements("AssumedRoleUser", in: xml).first.flatMap { XMLText.first("Arn", in: $0) } ?? role
        return Session(
            credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token),
            expiration: expiration, assumedRoleARN: arn)
    }
}

/// Credentials already in hand, as a chain of one: the source identity of an AssumeRole.
struct FixedCredentials: CredentialsProvider {
    let provided: ProvidedCredentials
    init(_ provided: ProvidedCredentials) { self.provided = provided }
    func resolve() async throws(Failure) -> ProvidedCredentials? { provided }
}
