import Foundation

/// Amazon SES v2 `SendEmail` with a raw MIME message: the same multipart message the SMTP
/// channel sends, so the two channels read alike.
public struct SESv2Client: Sendable {
    public let client: AWSServiceClient

    public init(client: AWSServiceClient) {
        self.client = client
    }

    struct SendEmailRequest: Encodable {
        struct Destination: Encodable { var ToAddresses: [String] }
        struct Content: Encodable {
            struct Raw: Encodable { var Data: String }
            var Raw: Raw
        }
        var FromEmailAddress: String
        var Destination: Destination
        var Content: Content
        var ConfigurationSetName: String?
    }

    struct SendEmailResponse: Decodable { var MessageId: String? }

    /// Sends `message` (RFC 5322 text with CRLF line ends); returns SES's message id.
    public func sendRawEmail(from: String, to: [String], message: String, configurationSet: String? = nil) async throws(AWSError) -> String {
        let request = SendEmailRequest(
            FromEmailAddress: from, Destination: .init(ToAddresses: to),
            Content: .init(Raw: .init(Data: Data(message.utf8).base64EncodedString())),
            ConfigurationSetName: configurationSet)
        let response = try await client.json("POST", path: "/v2/email/outbound-emails", body: request, as: SendEmailResponse.self)
        return response.MessageId ?? ""
    }

    /// CreateEmailIdentity: starts verification of an address or domain (the tests use it to
    /// let moto accept the sender).
    public func createEmailIdentity(_ identity: String) async throws(AWSError) {
        struct Request: Encodable { var EmailIdentity: String }
        _ = try await client.jsonRaw("POST", path: "/v2/email/identities", body: Request(EmailIdentity: identity))
    }
}
