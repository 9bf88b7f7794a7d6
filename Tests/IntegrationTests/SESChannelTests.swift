import FinetunedConfig
import FinetunedNetwork
import FinetunedTestSupport
import Foundation
import Testing

@testable import FinetunedNotification
@testable import FinetunedWorkflow

/// The SES channel against moto's SESv2 with signature checking on: an unverified sender is
/// refused with SES's own error; once verified, the raw MIME message lands in moto's store.
extension MotoPeerTests {
    @Suite("SES notifications against moto")
    struct SESChannelTests {
        @Test("SendEmail with a raw multipart message, signed; refused until the sender is verified")
        func sendThroughSES() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let settings = SESSettings(
                from: "finetuned <ft@example.org>", to: ["ml-team@example.org"], region: "us-east-1",
                endpointURL: moto.baseURL, configurationSet: nil)
            // Credentials from the environment the chain reads; the endpoint from the settings.
            var environment = moto.environment
            environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1"  // the channel's own endpoint_url must win
            let channel = SESChannel(settings: settings, environment: environment)
            let facts = NotificationChannelTests.facts()
            let entry = OutboxEntry(id: 21, workflowID: facts.workflowID, channel: "ses", kind: facts.kind, payload: facts.json)

            do {
                try await channel.deliver(entry, facts: facts)
                Issue.record("SES accepted mail from an unverified sender")
            } catch {
                #expect("\(error)".contains("MessageRejected"), "\(error)")
            }

            try await SESv2Client(client: try moto.client(.sesv2)).createEmailIdentity("ft@example.org")
            try await channel.deliver(entry, facts: facts)

            let state = try await moto.state()
            let ses = try #require(state["ses"] as? [String: Any])
            let raw = try #require(ses["RawMessage"] as? [[String: Any]])
            #expect(raw.count == 1)
            let sent = try #require(raw.first)
            #expect(sent["source"] as? String == "ft@example.org")
            // moto adds the message's To: addresses to the Destination it was given; the set is what counts.
            #expect(Set(sent["destinations"] as? [String] ?? []) == ["ml-team@example.org"])
            let data = try #require(sent["raw_data"] as? String)
            // The subject is RFC 2047 encoded (the headline has an em dash): decode its words.
            let words = data.components(separatedBy: "=?utf-8?B?").dropFirst().compactMap { $0.components(separatedBy: "?=").first }
            let subject = words.compactMap { Data(base64Encoded: $0) }.reduce(Data(), +)
            #expect(String(decoding: subject, as: UTF8.self) == "finetuned: " + facts.headline)
            #expect(data.contains("multipart/alternative") && data.contains("text/html"))

            // A wrong key: moto refuses the signature, and the error says so.
            environment["AWS_SECRET_ACCESS_KEY"] = "wrong"
            do {
                try await SESChannel(settings: settings, environment: environment).deliver(entry, facts: facts)
                Issue.record("a wrongly signed SendEmail was accepted")
            } catch {
                #expect("\(error)".contains("SignatureDoesNotMatch") || "\(error)".contains("InvalidClientTokenId"), "\(error)")
            }
        }

        @Test("[notify.ses] is read and checked")
        func configuration() throws {
            let good = try ConfigurationLoader.parse(
                text: ConfigurationFixtures.minimal + """

                    [notify.ses]
                    from = "ft@example.org"
                    to = ["ops@example.org"]
                    region = "eu-west-1"
                    configuration_set = "finetuned"
                    """, file: "x.toml")
            #expect(
                good.notifications.ses
                    == SESSettings(
                        from: "ft@example.org", to: ["ops@example.org"], region: "eu-west-1",
                        endpointURL: nil, configurationSet: "finetuned"))
            #expect(throws: ConfigurationError.self) {
                try ConfigurationLoader.parse(text: ConfigurationFixtures.minimal + "\n[notify.ses]\nfrom = \"nobody\"\nto = []\n", file: "x.toml")
            }
        }
    }
}
