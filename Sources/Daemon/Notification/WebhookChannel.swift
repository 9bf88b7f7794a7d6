import FinetunedConfig
import FinetunedDigest
import FinetunedNetwork
import FinetunedWorkflow
import Foundation

/// Notifications as an HTTP POST of JSON: the notification's facts, plus a Slack-compatible
/// `text` (the headline), so the URL can be a Slack incoming webhook as it is. With a secret,
/// `X-Finetuned-Signature: sha256=<hex HMAC-SHA256 of the body>` lets the receiver check it
/// came from us; `X-Finetuned-Delivery` is the outbox entry's id, the same on every retry, so
/// a receiver can drop a duplicate.
struct WebhookChannel: OutboxDispatcher.Channel {
    let settings: WebhookSettings
    var client = HTTPClient()
    var name: String { "webhook" }

    func deliver(_ entry: OutboxEntry, facts: NotificationFacts?) async throws {
        guard let facts else { throw ChannelError("the outbox entry \(entry.id ?? 0) holds no readable facts") }
        let body = Self.body(facts)
        var headers = [("Content-Type", "application/json"), ("User-Agent", "finetuned"),
                       ("X-Finetuned-Delivery", "\(entry.id ?? 0)"), ("X-Finetuned-Event", facts.kind)]
        if let secretFile = settings.secretFile {
            let secret = try Secret.read(secretFile)
            headers.append(("X-Finetuned-Signature", "sha256=" + SHA256Hasher.hmac(key: Array(secret.utf8), data: body).hex))
        }
        let response = try await client.post(settings.url, headers: headers, body: body)
        guard (200..<300).contains(response.status) else {
            throw ChannelError("the webhook answered HTTP \(response.status): \(response.text.prefix(200))")
        }
    }

    /// The facts as JSON with `text` added; keys sorted, so the same facts sign the same.
    static func body(_ facts: NotificationFacts) -> [UInt8] {
        var object = (try? JSONSerialization.jsonObject(with: Data(facts.json.utf8)) as? [String: Any]) ?? [:]
        object["text"] = "finetuned: " + facts.headline
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }
}
