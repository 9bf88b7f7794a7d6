import FinetunedNetwork
import FinetunedText
import FinetunedTime
import FinetunedWorkflow
import Foundation

/// A notification as a person reads it: a subject that says the outcome, a plain-text body,
/// an HTML body with the same facts in a table and small bar charts made of table cells (mail
/// readers drop SVG and scripts, and many block images), and the workflow's `report.html`
/// attached. Every channel that carries text (email, Maildir, SES) renders from here, so they
/// never disagree.
struct NotificationMessage: Sendable, Equatable {
    var subject: String
    var text: String
    var html: String
    /// The report, read when the message is rendered; nil when there is none.
    var attachment: Attachment?

    struct Attachment: Sendable, Equatable {
        var name: String
        var contentType: String
        var data: Data
    }

    /// A report larger than this is not attached (the mail says where it is instead).
    static let attachmentLimit = 8 << 20

    init(facts: NotificationFacts) {
        subject = "finetuned: " + facts.headline
        var rows: [(String, String)] = [
            ("Outcome", facts.kind), ("Workflow", facts.workflowID), ("Profile", facts.profile), ("Drop", facts.dropName),
            ("Attempt", "\(facts.attempt)"), ("Stage", facts.stage),
        ]
        if let reason = facts.reason { rows.append((facts.kind == "rejected" ? "First problem" : "Reason", reason)) }
        // Every value on its own line (a report excepted: it is lines by design), so a name
        // with a line feed cannot start a line of its own, such as a MIME boundary.
        rows = rows.map { ($0.0, OneLine.of($0.1)) }
        if let report = facts.report { rows.append(("Report", report)) }
        if let s = facts.scores {
            rows.append(("Mean BERTScore F1, custom model", String(format: "%.4f", s.meanCustomF1)))
            rows.append(("Mean BERTScore F1, base model", String(format: "%.4f", s.meanBaseF1)))
            rows.append(("Difference (custom − base)", String(format: "%+.4f", s.meanCustomF1 - s.meanBaseF1)))
            rows.append(("Confidence interval of the difference", String(format: "[%+.4f, %+.4f]", s.confidenceLow, s.confidenceHigh)))
            rows.append(("Resamples where custom wins", String(format: "%.1f%%", s.winShare * 100)))
            rows.append(
                ("Prompts scored", "\(s.prompts) (left out: \(s.excludedUnanswered) unanswered, \(s.excludedLeaked) also in the training data)"))
            rows.append(("Verdict", s.verdict))
        }
        for (i, epoch) in (facts.trainingLoss ?? []).enumerated() {
            rows.append(
                (
                    i == 0 ? "Training loss per epoch" : "",
                    String(format: "epoch %d: train %.4f", epoch.epoch, epoch.trainingLoss)
                        + (epoch.validationLoss.map { String(format: ", validation %.4f", $0) } ?? "")
                ))
        }
        if let job = facts.jobARN { rows.append(("Customization job", job)) }
        if let model = facts.customModelARN { rows.append(("Custom model", model + (facts.customModelRetained ? " (kept for retry)" : ""))) }
        if let serving = facts.throughputARN {
            switch facts.serving ?? .provisioned {
            case .provisioned: rows.append(("Provisioned throughput", serving))
            case .onDemand: rows.append(("Deployment", serving + " (on demand, billed per token: no throughput hours)"))
            }
        }
        for (i, use) in (facts.usage ?? []).enumerated() {
            let uncounted = use.uncounted > 0 ? " (\(use.uncounted) answers without counts)" : ""
            rows.append((i == 0 ? "Tokens used by the evaluation" : "", "\(use.model): \(use.inputTokens) in, \(use.outputTokens) out\(uncounted)"))
        }
        if let hours = facts.throughputHours {
            rows.append(("Throughput hours", String(format: "%.2f (from in service to deletion, billed by the hour)", hours)))
        } else if facts.throughputARN != nil, facts.serving == .onDemand {
            rows.append(("Throughput hours", "none: served on demand"))
        }
        for (i, item) in facts.cleanup.enumerated() { rows.append((i == 0 ? "Cleaned up" : "", item)) }

        let width = rows.map(\.0.count).max() ?? 0
        let headline = OneLine.of(facts.headline)
        text =
            headline + "\n\n"
            + rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n") + "\n"
        if let path = facts.htmlReport, let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int,
            size <= Self.attachmentLimit, let data = FileManager.default.contents(atPath: path)
        {
            attachment = Attachment(name: "report.html", contentType: "text/html; charset=utf-8", data: data)
        }
        html =
            "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<p><strong>\(Self.escape(headline))</strong></p>\n"
            + MailCharts.scores(facts.scores) + MailCharts.loss(facts.trainingLoss ?? [])
            + "<table>\n"
            + rows.map { "<tr><th align=\"left\">\(Self.escape($0.0))</th><td>\(Self.escape($0.1))</td></tr>" }.joined(separator: "\n")
            + "\n</table>\n"
            + (attachment != nil
                ? "<p>The full report, with the loss curves, every prompt's scores and examples, is attached as report.html.</p>\n" : "")
            + "</body></html>\n"
    }

    /// Markup characters as entities (`&apos;` too: valid in HTML5 and in every mail reader).
    static func escape(_ text: String) -> String { XMLText.escape(text) }

    /// The message as RFC 5322 text with a multipart/alternative MIME body (inside a
    /// multipart/mixed one with the report when there is one), CRLF line ends.
    func rfc5322(from: String, to: [String], date: Date, messageID: String, boundary: String) -> String {
        let headers = [
            "Date: \(UTCTime(date).rfc5322)",
            "From: \(from)",
            "To: \(to.joined(separator: ", "))",
            // The subject carries a drop's name: a line feed in it would start a forged header.
            "Subject: \(Self.encodedWord(OneLine.of(subject)))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
        ]
        var body = [
            "--\(boundary)", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", text,
            "--\(boundary)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", html,
            "--\(boundary)--", "",
        ]
        var contentType = "Content-Type: multipart/alternative; boundary=\"\(boundary)\""
        if let attachment {
            // The two bodies, then the report: multipart/mixed around multipart/alternative.
            // Neither boundary is a prefix of the other: some readers match boundaries by prefix.
            let mixed = "mixed-" + boundary
            let encoded = attachment.data.base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
            body =
                ["--\(mixed)", contentType, ""] + body + [
                    "--\(mixed)", "Content-Type: \(attachment.contentType)", "Content-Transfer-Encoding: base64",
                    "Content-Disposition: attachment; filename=\"\(attachment.name)\"", "", encoded, "--\(mixed)--", "",
                ]
            contentType = "Content-Type: multipart/mixed; boundary=\"\(mixed)\""
        }
        return (headers + [contentType, ""] + body).joined(separator: "\n")
            .split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
    }

    /// RFC 2047: a non-ASCII header value as `=?utf-8?B?…?=` words of at most 75 characters,
    /// split between characters so none is cut in half.
    static func encodedWord(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { !$0.isASCII }) else { return value }
        var words: [String] = []
        var chunk = ""
        for character in value {
            let candidate = chunk + String(character)
            if Data(candidate.utf8).base64EncodedString().count > 75 - 12, !chunk.isEmpty {
                words.append(chunk)
                chunk = String(character)
            } else {
                chunk = candidate
            }
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?utf-8?B?" + Data($0.utf8).base64EncodedString() + "?=" }.joined(separator: "\r\n ")
    }
}
