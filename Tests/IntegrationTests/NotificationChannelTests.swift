import FinetunedConfig
import FinetunedTestSupport
import FinetunedText
import FinetunedWorkflow
import Foundation
import Testing

@testable import FinetunedNetwork
@testable import FinetunedNotification
@testable import FinetunedWorkflow

/// Our SMTP and HTTP clients against real servers (aiosmtpd, Python's http.server) on 127.0.0.1, with a private CA.
/// aiosmtpd is installed by scripts/install-test-deps (make test): its absence is a failure.
@Suite("notification channels against real peers: aiosmtpd, an HTTPS webhook receiver", .serialized)
struct NotificationChannelTests {
    static let python = Command.which("python3") ?? "/usr/bin/python3"
    static let script = BuiltProducts.packageRoot.appendingPathComponent("Tests/peers/smtp_server.py").path

    let dir: TemporaryDirectory
    let certificates: TestCertificates

    init() throws {
        dir = try TemporaryDirectory(prefix: "ftsmtp")
        certificates = try TestCertificates(in: dir)
    }

    func server(_ mode: String, _ extra: [String] = [], cert: String? = nil, key: String? = nil) throws -> (PeerProcess, String) {
        let out = dir.file("mail-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var arguments = [Self.script, "{port}", mode, out]
        if mode != "plain" { arguments += ["--cert", cert ?? certificates.cert, "--key", key ?? certificates.key] }
        return (try PeerProcess(Self.python, arguments + extra), out)
    }

    func client(
        _ port: Int, _ security: SMTPClient.Security, user: String? = "ops", password: String? = "s3cret", ca: String? = nil,
        host: String = "127.0.0.1", timeout: Duration = .seconds(10)
    ) -> SMTPClient {
        SMTPClient(
            .init(
                host: host, port: port, security: security, username: user, password: password,
                caFile: ca ?? certificates.ca, clientName: "finetuned.test", timeout: timeout))
    }

    func stored(_ out: String) throws -> [[String: Any]] {
        try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".json") }.sorted().map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/" + $0))) as! [String: Any]
        }
    }

    static let message = [
        "Date: Sat, 28 Nov 2026 07:00:00 +0000", "From: finetuned <ft@example.org>", "To: ops@example.org",
        "Subject: =?utf-8?B?" + Data("finetuned: kept — F1 0.71 vs 0.65 ✓".utf8).base64EncodedString() + "?=",
        "Message-ID: <m1@finetuned.test>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit", "", "first line", ".a line that starts with a dot", "..two dots", "last line — ünïcode", "",
    ].joined(separator: "\r\n")

    @Test("STARTTLS, AUTH PLAIN, 8-bit body: the server stores the message whole, dots unstuffed, subject decoded")
    func starttls() async throws {
        let (peer, out) = try server("starttls", ["--user", "ops", "--password", "s3cret"])
        defer { peer.stop() }
        try await client(peer.port, .starttls).send(from: "ft@example.org", to: ["ops@example.org", "ml@example.org"], message: Self.message)
        let mail = try #require(try stored(out).first)
        #expect(mail["tls"] as? Bool == true && mail["auth"] as? Bool == true)
        #expect(mail["mail_from"] as? String == "ft@example.org")
        #expect(mail["rcpt_tos"] as? [String] == ["ops@example.org", "ml@example.org"])
        #expect(mail["subject"] as? String == "finetuned: kept — F1 0.71 vs 0.65 ✓")
        let body = try #require((mail["parts"] as? [String: String])?["text/plain"])
        #expect(body.replacingOccurrences(of: "\r\n", with: "\n") == "first line\n.a line that starts with a dot\n..two dots\nlast line — ünïcode\n")
    }

    @Test("implicit TLS (465-style) with AUTH LOGIN when the server offers only LOGIN")
    func implicitTLSWithLogin() async throws {
        let (peer, out) = try server("tls", ["--user", "ops", "--password", "s3cret", "--only-login"])
        defer { peer.stop() }
        try await client(peer.port, .tls).send(from: "ft@example.org", to: ["ops@example.org"], message: Self.message)
        let mail = try #require(try stored(out).first)
        #expect(mail["tls"] as? Bool == true && mail["auth"] as? Bool == true)
    }

    @Test("a wrong password is a permanent 535, not retried")
    func wrongPassword() async throws {
        let (peer, out) = try server("starttls", ["--user", "ops", "--password", "s3cret"])
        defer { peer.stop() }
        do {
            try await client(peer.port, .starttls, password: "wrong").send(from: "ft@example.org", to: ["a@example.org"], message: Self.message)
            Issue.record("a wrong password was accepted")
        } catch {
            guard case .permanent(let code, _, let during) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(code == 535 && during == "AUTH PLAIN" && !error.isRetryable)
            #expect(!error.description.contains("s3cret") && !error.description.contains("wrong"))
        }
        #expect(try stored(out).isEmpty)
    }

    @Test("the certificate is verified: an unknown CA and a certificate for another host both fail the handshake")
    func verification() async throws {
        let (peer, _) = try server("tls")
        defer { peer.stop() }
        // The system's trust store does not know the test CA.
        let untrusted = SMTPClient(.init(host: "127.0.0.1", port: peer.port, security: .tls, clientName: "t", timeout: .seconds(10)))
        await #expect(throws: SMTPError.self) { try await untrusted.send(from: "a@b", to: ["c@d"], message: Self.message) }
        do {
            try await untrusted.send(from: "a@b", to: ["c@d"], message: Self.message)
        } catch {
            #expect(error.description.contains("certificate"), "\(error)")
            #expect(!error.isRetryable)
        }
        let (other, _) = try server("tls", cert: certificates.otherCert, key: certificates.otherKey)
        defer { other.stop() }
        do {
            try await client(other.port, .tls, user: nil).send(from: "a@b", to: ["c@d"], message: Self.message)
            Issue.record("a certificate for mail.example.org was accepted for 127.0.0.1")
        } catch {
            #expect(error.description.contains("hostname mismatch") || error.description.contains("certificate"), "\(error)")
        }
    }

    @Test("reply classes: 4xx at RCPT is transient, 5xx permanent; a silent server times out; a drop after DATA is 'may have been delivered'")
    func replyClasses() async throws {
        let (busy, _) = try server("plain", ["--fail-rcpt", "452"])
        defer { busy.stop() }
        do {
            try await client(busy.port, .none, user: nil).send(from: "a@b", to: ["c@d"], message: Self.message)
        } catch {
            guard case .transient(452, _, "RCPT TO:<c@d>") = error else {
                Issue.record("\(error)")
                return
            }
            #expect(error.isRetryable)
        }
        let (unknown, _) = try server("plain", ["--fail-rcpt", "550"])
        defer { unknown.stop() }
        await #expect(throws: SMTPError.permanent(code: 550, text: "5.1.1 No such user", during: "RCPT TO:<c@d>")) {
            try await client(unknown.port, .none, user: nil).send(from: "a@b", to: ["c@d"], message: Self.message)
        }
        let silent = try PeerProcess(Self.python, [Self.script, "{port}", "plain", dir.path, "--silent"])
        defer { silent.stop() }
        await #expect(throws: SMTPError.timeout(during: "the greeting")) {
            try await client(silent.port, .none, user: nil, timeout: .seconds(1)).send(from: "a@b", to: ["c@d"], message: Self.message)
        }
        let (dropping, _) = try server("plain", ["--drop-after-data"])
        defer { dropping.stop() }
        do {
            try await client(dropping.port, .none, user: nil).send(from: "a@b", to: ["c@d"], message: Self.message)
            Issue.record("a dropped connection after DATA was reported as sent")
        } catch {
            guard case .outcomeUnknown = error else {
                Issue.record("\(error)")
                return
            }
            #expect(error.description.contains("may have been delivered"))
        }
    }

    @Test("plaintext sent after the STARTTLS reply, in the same segment or just after, ends the session: nothing is read as if over TLS")
    func startTLSInjection() async throws {
        let injector = BuiltProducts.packageRoot.appendingPathComponent("Tests/peers/smtp_injector.py").path
        for mode in ["same", "later"] {
            let peer = try PeerProcess(Self.python, [injector, "{port}", mode])
            defer { peer.stop() }
            do {
                try await client(peer.port, .starttls).send(from: "a@b", to: ["c@d"], message: Self.message)
                Issue.record("\(mode): the session went on after an injection")
            } catch {
                switch error {
                case .protocolViolation(let text):
                    #expect(text.contains("after its STARTTLS reply, before TLS began"), "\(mode): \(text)")
                case .tls(let text) where mode == "later":
                    // Arrived once the TLS handler was in place: read as a (broken) TLS record,
                    // never as a reply. Which of the two happens is a matter of timing.
                    #expect(text.contains("handshake failed"), "\(text)")
                default:
                    Issue.record("\(mode): \(error)")
                }
            }
        }
    }

    @Test("dot-stuffing and line ends of the DATA block")
    func dataBlock() {
        #expect(SMTPClient.dataBlock("a\n.b\r\n..c\r\n") == "a\r\n..b\r\n...c\r\n.\r\n")
        #expect(SMTPClient.dataBlock(".") == "..\r\n.\r\n")
    }
}

extension NotificationChannelTests {
    @Test("the email channel: a multipart/alternative notification with the scores, the password from a file, as Python's email package reads it")
    func emailChannel() async throws {
        let (peer, out) = try server("starttls", ["--user", "ops@example.org", "--password", "pa55 word"])
        defer { peer.stop() }
        let passwordFile = try dir.write("smtp-password", "pa55 word\n")
        let settings = EmailSettings(
            host: "127.0.0.1", port: peer.port, security: .starttls, username: "ops@example.org",
            passwordFile: passwordFile, caFile: certificates.ca, from: "finetuned <ft@example.org>",
            to: ["ml-team@example.org"])
        let scores = ScoreSummary(
            verdict: "keep", reason: "better", prompts: 60, excludedUnanswered: 0, excludedLeaked: 2,
            meanBaseF1: 0.4589, meanCustomF1: 0.6761, confidenceLow: 0.1682, confidenceHigh: 0.2672, winShare: 1)
        let facts = NotificationFacts(
            kind: "kept", workflowID: "wf-20261128-0001", profile: "summaries", dropName: "q4.jsonl", attempt: 1, stage: "kept",
            reason: "better", scores: scores, jobARN: "arn:job", customModelARN: "arn:model", throughputARN: "arn:tp",
            customModelRetained: false, cleanup: [], headline: "summaries/q4.jsonl kept — F1 0.676 vs 0.459 (+0.217, 100% of resamples)")
        let entry = OutboxEntry(id: 7, workflowID: facts.workflowID, channel: "email", kind: "kept", payload: facts.json)
        try await EmailChannel(settings: settings).deliver(entry, facts: facts)

        let mail = try #require(try stored(out).first)
        #expect(mail["mail_from"] as? String == "ft@example.org" && mail["rcpt_tos"] as? [String] == ["ml-team@example.org"])
        #expect(mail["subject"] as? String == "finetuned: summaries/q4.jsonl kept — F1 0.676 vs 0.459 (+0.217, 100% of resamples)")
        #expect(mail["content_type"] as? String == "multipart/alternative")
        #expect((mail["message_id"] as? String)?.hasPrefix("<wf-20261128-0001.7@") == true)
        #expect((mail["date"] as? String)?.isEmpty == false)
        let parts = try #require(mail["parts"] as? [String: String])
        #expect(parts["text/plain"]?.contains("Mean BERTScore F1, custom model        0.6761") == true, "\(parts["text/plain"] ?? "")")
        #expect(parts["text/html"]?.contains("<th align=\"left\">Confidence interval of the difference</th><td>[+0.1682, +0.2672]</td>") == true)
        #expect(parts["text/html"]?.contains("2 also in the training data") == true)
    }

    @Test("a secret comes from a path or from $CREDENTIALS_DIRECTORY, without its trailing newline")
    func secrets() throws {
        let path = try dir.write("secret", "hunter2\r\n")
        #expect(try Secret.read(path) == "hunter2")
        #expect(EmailChannel.address("finetuned <ft@example.org>") == "ft@example.org")
        #expect(EmailChannel.address(" ops@example.org ") == "ops@example.org")
    }
}

extension NotificationChannelTests {
    static let receiver = BuiltProducts.packageRoot.appendingPathComponent("Tests/peers/webhook_receiver.py").path

    static func facts() -> NotificationFacts {
        NotificationFacts(
            kind: "not_kept", workflowID: "wf-20261128-0002", profile: "summaries", dropName: "poor.jsonl", attempt: 1,
            stage: "throughput_deleted", reason: "worse", scores: nil, jobARN: "arn:job", customModelARN: "arn:model",
            throughputARN: "arn:tp", customModelRetained: false, cleanup: ["deleted provisioned throughput arn:tp"],
            headline: "summaries/poor.jsonl not better, not kept — F1 0.205 vs 0.459")
    }

    @Test("webhook over HTTPS: JSON with the facts and a Slack text, an HMAC-SHA256 signature the receiver verifies with Python's hmac")
    func webhook() async throws {
        let out = dir.file("hooks")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let secret = "whsec-42"
        let peer = try PeerProcess(Self.python, [Self.receiver, "{port}", out, secret, "--cert", certificates.cert, "--key", certificates.key])
        defer { peer.stop() }
        let secretFile = try dir.write("webhook-secret", secret + "\n")
        let channel = WebhookChannel(
            settings: WebhookSettings(
                url: "https://127.0.0.1:\(peer.port)/hooks/ft?team=ml", secretFile: secretFile,
                caFile: certificates.ca))
        let entry = OutboxEntry(id: 11, workflowID: "wf-20261128-0002", channel: "webhook", kind: "not_kept", payload: Self.facts().json)
        try await channel.deliver(entry, facts: Self.facts())
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: out).first { $0.hasSuffix(".json") })
        let record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/" + name))) as? [String: Any])
        #expect(record["signature_valid"] as? Bool == true)
        #expect(record["path"] as? String == "/hooks/ft?team=ml")
        let headers = try #require(record["headers"] as? [String: String])
        #expect(headers["X-Finetuned-Delivery"] == "11" && headers["X-Finetuned-Event"] == "not_kept")
        let body = try #require(try JSONSerialization.jsonObject(with: Data((record["body"] as? String ?? "").utf8)) as? [String: Any])
        #expect(body["text"] as? String == "finetuned: summaries/poor.jsonl not better, not kept — F1 0.205 vs 0.459")
        #expect(body["workflowID"] as? String == "wf-20261128-0002" && body["cleanup"] as? [String] == ["deleted provisioned throughput arn:tp"])
        #expect(Int(headers["X-Finetuned-Timestamp"] ?? "").map { abs(Double($0) - Date().timeIntervalSince1970) < 60 } == true)

        // The same delivery replayed under another delivery id (to pass deduplication), or with
        // a timestamp from long ago, fails the receiver's check: both are signed.
        let replays: [[String: String]] = [
            ["X-Finetuned-Delivery": "12"],
            ["X-Finetuned-Timestamp": "\(Int(Date().timeIntervalSince1970) - 3600)"],
        ]
        for change in replays {
            let replayed = headers.merging(change) { $1 }.filter {
                ["Content-Type", "X-Finetuned-Delivery", "X-Finetuned-Timestamp", "X-Finetuned-Signature"].contains($0.key)
            }
            let before = Set(try FileManager.default.contentsOfDirectory(atPath: out))
            _ = try await HTTPTransport(timeout: .seconds(10), caFile: certificates.ca).post(
                "https://127.0.0.1:\(peer.port)/hooks/ft?team=ml", headers: replayed.map { ($0.key, $0.value) },
                body: Array((record["body"] as? String ?? "").utf8))
            let added = try #require(
                Set(try FileManager.default.contentsOfDirectory(atPath: out)).subtracting(before).first { $0.hasSuffix(".json") })
            let replay = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/" + added))) as? [String: Any])
            #expect(replay["signature_valid"] as? Bool == false, "\(change)")
        }

        // A receiver that fails is an error the outbox retries; one without our CA is refused.
        let failing = try PeerProcess(Self.python, [Self.receiver, "{port}", out, secret, "--status", "503"])
        defer { failing.stop() }
        let plain = WebhookChannel(settings: WebhookSettings(url: "http://127.0.0.1:\(failing.port)/", secretFile: nil))
        await #expect(throws: Failure.self) { try await plain.deliver(entry, facts: Self.facts()) }
        let untrusting = WebhookChannel(settings: WebhookSettings(url: "https://127.0.0.1:\(peer.port)/", secretFile: nil))
        await #expect(throws: HTTPTransportError.self) { try await untrusting.deliver(entry, facts: Self.facts()) }
    }
}

/// What a drop's name can do to a notification: nothing. A line feed in it once started a
/// header of its own in the Subject: line.
@Suite("notification text from hostile names")
struct NotificationInjectionTests {
    @Test("a drop name with CR LF forges no header and no line of the body")
    func headerInjection() {
        let name = "q4\r\nBcc: victim@example.com\r\n\r\n--b\r\nx.jsonl"
        let facts = NotificationFacts(
            kind: "rejected", workflowID: "wf-20261128-0001", profile: "summaries", dropName: name, attempt: 1, stage: "rejected",
            reason: "bad line\nBcc: other@example.com", scores: nil, jobARN: nil, customModelARN: nil, throughputARN: nil,
            customModelRetained: false, cleanup: [], headline: "summaries/\(name) rejected")
        let text = NotificationMessage(facts: facts).rfc5322(
            from: "ft@example.org", to: ["ops@example.org"], date: Date(timeIntervalSince1970: 0),
            messageID: "m1@finetuned.test", boundary: "b")
        let lines = text.components(separatedBy: "\r\n")
        #expect(!lines.contains { $0.hasPrefix("Bcc:") }, "\(text)")
        #expect(lines.filter { $0 == "--b" }.count == 2, "only the message's own two parts open with the boundary")
        #expect(lines.contains("Subject: finetuned: summaries/q4 Bcc: victim@example.com --b x.jsonl rejected"))
    }
}
