import FinetunedText
import Foundation

/// The EC2 instance profile's role, from the instance metadata service with IMDSv2 session
/// tokens only (a PUT for a token, then GETs carrying it): IMDSv1's unauthenticated GETs
/// are what SSRF attacks steal credentials through.
///
/// Off EC2 the service does not answer; that is "not configured" after a short timeout,
/// not an error. `AWS_EC2_METADATA_DISABLED=true` skips it, and
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` points it elsewhere (the tests use 127.0.0.1).
public struct InstanceMetadataCredentials: CredentialsProvider {
    let environment: [String: String]
    let client: HTTPTransport

    public init(environment: [String: String], client: HTTPTransport = HTTPTransport(timeout: .seconds(1))) {
        self.environment = environment
        self.client = client
    }

    public func resolve() async throws(Failure) -> ProvidedCredentials? {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        var endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://169.254.169.254"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }

        let tokenResponse: HTTPResponse
        do {
            tokenResponse = try await client.send(
                HTTPRequest(
                    method: "PUT", url: endpoint + "/latest/api/token",
                    headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]))
        } catch {
            return nil  // no metadata service here
        }
        guard tokenResponse.status == 200, !tokenResponse.body.isEmpty else {
            throw Failure(.credentials, "the instance metadata service refused an IMDSv2 token (HTTP \(tokenResponse.status))")
        }
        let token = tokenResponse.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let base = endpoint + "/latest/meta-data/iam/security-credentials/"
        let roles = try await get(base, token: token)
        guard roles.status == 200 else {
            if roles.status == 404 { return nil }  // an instance without a role
            throw Failure(.credentials, "the instance metadata service answered HTTP \(roles.status) for the role name")
        }
        guard let role = roles.text.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else { return nil }
        let document = try await get(base + role, token: token)
        guard document.status == 200 else {
            throw Failure(.credentials, "the instance metadata service answered HTTP \(document.status) for role \(role)")
        }
        return try CredentialDocument.decode(document.body, source: "the instance metadata service")
            .provided(source: "instance profile role \(role)")
    }

    private func get(_ url: String, token: String) async throws(Failure) -> HTTPResponse {
        do { return try await client.send(HTTPRequest(method: "GET", url: url, headers: [("X-aws-ec2-metadata-token", token)])) } catch {
            throw Failure(.credentials, "the instance metadata service: \(error.description)")
        }
    }
}
