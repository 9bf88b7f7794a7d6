import FinetunedText

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`, the first
/// source of every AWS SDK.
public struct EnvironmentCredentials: CredentialsProvider {
    let environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    public func resolve() async throws(Failure) -> ProvidedCredentials? {
        let key = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (key, secret) {
        case (nil, nil): return nil
        case (let key?, let secret?):
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return ProvidedCredentials(
                credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token),
                source: "environment")
        case (nil, _): throw Failure(.credentials, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (_, nil): throw Failure(.credentials, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
    }
}
