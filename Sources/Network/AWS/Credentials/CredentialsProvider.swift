import FinetunedText
import Foundation

/// Credentials with where they came from and when they stop working.
public struct ProvidedCredentials: Sendable, Equatable {
    public var credentials: AWSCredentials
    /// nil for long-term keys.
    public var expiration: Date?
    /// A human name for the source ("environment", "profile default in ~/.aws/credentials", …),
    /// logged so an operator can tell which keys are in use without seeing them.
    public var source: String

    public init(credentials: AWSCredentials, expiration: Date? = nil, source: String) {
        self.credentials = credentials
        self.expiration = expiration
        self.source = source
    }
}

/// One place credentials can come from. `nil` means "not configured here, ask the next one";
/// an error means it *is* configured but broken, which stops the chain: falling through to
/// another source would silently run paid jobs under an identity nobody chose.
public protocol CredentialsProvider: Sendable {
    func resolve() async throws(Failure) -> ProvidedCredentials?
}

/// The timestamps credential endpoints return: ISO 8601 with or without fractional seconds.
/// (FoundationEssentials' parser: `ISO8601DateFormatter` would bring in ICU.)
enum CredentialTime {
    static func parse(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }
}

/// The JSON both the container endpoint and instance metadata answer with.
struct CredentialDocument: Decodable {
    var AccessKeyId: String?
    var SecretAccessKey: String?
    var Token: String?
    var Expiration: String?
    var Code: String?
    var Message: String?

    func provided(source: String) throws(Failure) -> ProvidedCredentials {
        if let code = Code, code != "Success" {
            throw Failure(.credentials, "\(source) answered \(code)\(Message.map { ": \($0)" } ?? "")")
        }
        guard let key = AccessKeyId, !key.isEmpty, let secret = SecretAccessKey, !secret.isEmpty else {
            throw Failure(.credentials, "\(source) answered without AccessKeyId and SecretAccessKey")
        }
        var expiration: Date?
        if let text = Expiration {
            guard let date = CredentialTime.parse(text) else { throw Failure(.credentials, "\(source) answered an unreadable Expiration '\(text)'") }
            expiration = date
        }
        return ProvidedCredentials(
            credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: Token),
            expiration: expiration, source: source)
    }

    static func decode(_ body: [UInt8], source: String) throws(Failure) -> CredentialDocument {
        do { return try JSONDecoder().decode(CredentialDocument.self, from: Data(body)) } catch {
            throw Failure(.credentials, "\(source) answered something that is not a credentials document")
        }
    }
}
