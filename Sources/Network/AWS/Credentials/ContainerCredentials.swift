import FinetunedText
import Foundation

/// ECS task roles and EKS Pod Identity: an HTTP endpoint named by
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on 169.254.170.2) or
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with `AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)` as
/// the `Authorization` header. A full URI must be HTTPS or a loopback / container-agent
/// address, so a stray variable cannot send the token to an arbitrary host.
public struct ContainerCredentials: CredentialsProvider {
    let environment: [String: String]
    let client: HTTPTransport

    public init(environment: [String: String], client: HTTPTransport = HTTPTransport(timeout: .seconds(5))) {
        self.environment = environment
        self.client = client
    }

    static let agentHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "[fd00:ec2::23]"]

    public func resolve() async throws(Failure) -> ProvidedCredentials? {
        let url: String
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://169.254.170.2" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            let target: HTTPTarget
            do { target = try HTTPTarget(full) } catch { throw Failure(.credentials, "AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL") }
            guard target.secure || Self.isLoopback(target.host) || Self.agentHosts.contains(target.host) else {
                throw Failure(
                    .credentials,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, loopback or the container agent's address; \(target.host) is none")
            }
            url = full
        } else {
            return nil
        }
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let tokenFile = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !tokenFile.isEmpty {
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw Failure(.credentials, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(tokenFile)")
            }
            headers.append(("Authorization", String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty {
            headers.append(("Authorization", token))
        }
        let response: HTTPResponse
        do { response = try await client.send(HTTPRequest(method: "GET", url: url, headers: headers)) } catch {
            throw Failure(.credentials, "the container credentials endpoint: \(error.description)")
        }
        guard response.status == 200 else {
            throw Failure(.credentials, "the container credentials endpoint answered HTTP \(response.status)")
        }
        return try CredentialDocument.decode(response.body, source: "the container credentials endpoint")
            .provided(source: "container credentials")
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}
