import Crypto
import FinetunedConfig
import FinetunedNetwork
import FinetunedText
import FinetunedWorkflow
import Foundation

/// Notifications as an HTTP POST of JSON: the notification's facts, plus a Slack-compatible
/// `text` (the headline), so the URL can be a Slack incoming webhook as it is.
/// `X-Finetuned-Delivery` is the outbox entry's id, the same on every retry, so a receiver
/// can drop a duplicate. With a secret, `X-Finetuned-Signature: sha256=<hex>` is the
/// HMAC-SHA256 of `<timestamp>.<delivery id>.<body>`, with the Unix time in
/// `X-Finetuned-Timestamp`: a receiver that checks it and refuses old timestamps cannot be
/// fed a recorded delivery again, nor one whose delivery id was changed to pass its
/// deduplication (a signature over the body alone allowed both).
struct WebhookChannel: OutboxDispatcher.Channel {
    let settings: WebhookSettings
    let client: HTTPTransport

    init(settings: WebhookSettings, client: HTTPTransport? = nil) {
        self.settings = settings
        self.client = client ?? HTTPTransport(caFile: settings.caFile)
    }
    var name: String { "webhook" }

    func deliver(_ entry: OutboxEntry, facts: NotificationFacts?) async throws {
        guard let facts else { throw Failure(.notification, "the outbox entry \(entry.id ?? 0) holds no readable facts") }
        let body = Self.body(facts)
        var headers = [
            ("Content-Type", "application/json"), ("User-Agent", "finetuned"),
            ("X-Finetuned-Delivery", "\(entry.id ?? 0)"), ("X-Finetuned-Event", facts.kind),
        ]
        if let secretFile = settings.secretFile {
            let secret = try Secret.read(secretFile)
            let timestamp = String(Int(Date().timeIntervalSince1970))
            headers.append(("X-Finetuned-Timestamp", timestamp))
            headers.append(
                ("X-Finetuned-Signature", "sha256=" + Self.signature(secret: secret, timestamp: timestamp, delivery: entry.id ?? 0, body: body)))
        }
        let response = try await client.post(settings.url, headers: headers, body: body)
        guard (200..<300).contains(response.status) else {
            throw Failure(.notification, "the webhook answered HTTP \(response.status): \(response.text.prefix(200))")
        }
    }

    /// Hex HMAC-SHA256 of `timestamp.delivery.body` under the secret.
    static func signature(secret: String, timestamp: String, delivery: Int64, body: [UInt8]) -> String {
        Array(HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).\(delivery).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))).hex
    }

    /// The facts as JSON with `text` added; keys sorted, so the same facts sign the same.
    static func body(_ facts: NotificationFacts) -> [UInt8] {
        var object = (try? JSONSerialization.jsonObject(with: Data(facts.json.utf8)) as? [String: Any]) ?? [:]
        object["text"] = "finetuned: " + facts.headline
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }
}
