import FinetunedNetwork
import Foundation

/// moto's server (`Tests/peers/moto_server.py`) on 127.0.0.1 with SigV4 checking on, and
/// the IAM key it accepts. An independent implementation of S3, SES and part of Bedrock's
/// control plane: a request our signer signs wrongly fails with `SignatureDoesNotMatch`.
public final class MotoServer: Sendable {
    public let peer: PeerProcess
    public let credentials: AWSCredentials
    private let directory: TemporaryDirectory

    public init() throws {
        guard let python = Command.which("python3") else { throw PeerError(description: "python3 is not installed") }
        let directory = try TemporaryDirectory(prefix: "ftmoto")
        let keyFile = directory.file("key")
        let script = BuiltProducts.packageRoot.appendingPathComponent("Tests/peers/moto_server.py").path
        peer = try PeerProcess(python, [script, "{port}", keyFile], timeout: 60)
        let parts = (try String(contentsOfFile: keyFile, encoding: .utf8)).split(separator: " ").map(String.init)
        guard parts.count == 2 else { throw PeerError(description: "moto wrote no access key") }
        credentials = AWSCredentials(accessKeyID: parts[0], secretAccessKey: parts[1])
        self.directory = directory
    }

    public var baseURL: String { "http://127.0.0.1:\(peer.port)" }

    /// The environment an AWS client needs to reach this server with its key.
    public var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": credentials.accessKeyID, "AWS_SECRET_ACCESS_KEY": credentials.secretAccessKey,
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": baseURL, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        ]
    }

    /// A client for `service` signing with this server's key.
    public func client(_ service: AWSService, retry: AWSServiceClient.RetryPolicy = .init(maxAttempts: 1)) throws -> AWSServiceClient {
        let environment = self.environment
        let endpoints = try AWSEndpoints(
            configuredRegion: nil, fips: nil, configuredEndpoint: nil, configuredServiceEndpoints: [:],
            environment: environment, shared: nil)
        return AWSServiceClient(
            service: service, endpoints: endpoints,
            credentials: CredentialChain(providers: [EnvironmentCredentials(environment: environment)]),
            http: HTTPTransport(timeout: .seconds(20)), retry: retry)
    }

    /// Turns signature checking off (`false`) or on again, through moto's own API.
    public func checkSignatures(_ on: Bool) async throws {
        _ = try await HTTPTransport().post(baseURL + "/moto-api/reset-auth", headers: [], body: Array((on ? "0" : "inf").utf8))
    }

    /// moto's whole state as JSON (`/moto-api/data.json`), e.g. the mail SES "sent".
    public func state() async throws -> [String: Any] {
        let response = try await HTTPTransport().send(HTTPRequest(method: "GET", url: baseURL + "/moto-api/data.json"))
        return (try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]) ?? [:]
    }

    /// The secret of a key moto's STS issued (an assumed role's), from moto's own state.
    public func issuedSecret(accessKeyID: String) async -> String? {
        guard let sts = try? await state()["sts"] as? [String: Any], let roles = sts["AssumedRole"] as? [[String: Any]] else { return nil }
        return roles.first { $0["access_key_id"] as? String == accessKeyID }?["secret_access_key"] as? String
    }

    public func stop() {
        peer.stop()
        directory.remove()
    }
}
