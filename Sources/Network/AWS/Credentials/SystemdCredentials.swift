import FinetunedText
import Foundation

/// Keys handed over by systemd: `LoadCredential=aws:/etc/finetuned/aws-credentials` (or
/// `SetCredentialEncrypted=`) puts the file in `$CREDENTIALS_DIRECTORY/aws`, readable by the
/// service alone and never on its command line or in its environment. The file is in the
/// shared-credentials format; its `[default]` section (or `AWS_PROFILE`'s) is used.
public struct SystemdCredentials: CredentialsProvider {
    public static let credentialName = "aws"
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func resolve() async throws(Failure) -> ProvidedCredentials? {
        guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else { return nil }
        let path = directory + "/" + Self.credentialName
        guard let file = try INIFile.read(path) else { return nil }
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        guard let section = file.sections[profile] else {
            throw Failure(.credentials, "the systemd credential '\(Self.credentialName)' has no [\(profile)] section")
        }
        guard let key = section.values["aws_access_key_id"], let secret = section.values["aws_secret_access_key"],
            !key.isEmpty, !secret.isEmpty
        else {
            throw Failure(
                .credentials, "the systemd credential '\(Self.credentialName)' [\(profile)] needs aws_access_key_id and aws_secret_access_key")
        }
        return ProvidedCredentials(
            credentials: AWSCredentials(
                accessKeyID: key, secretAccessKey: secret,
                sessionToken: section.values["aws_session_token"]),
            source: "systemd credential '\(Self.credentialName)'")
    }
}
