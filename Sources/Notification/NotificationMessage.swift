import FinetunedNetwork
import FinetunedText
import FinetunedTime
import FinetunedWorkflow
import Foundation

/// A notification as a person reads it: a subject that says the outcome, a plain-text body
/// and an HTML body with the same facts in a table. Every channel that carries text (email,
/// Maildir) renders from here, so they never disagree.
struct NotificationMessage: Sendable, Equatable {
    var subject: String
    var text: String
    var html: String

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
        html =
            "<!DOCTYPE html>\n<html><body>\n<p><strong>\(Self.escape(headline))</strong></p>\n<table>\n"
            + rows.map { "<tr><th align=\"left\">\(Self.escape($0.0))</th><td>\(Self.escape($0.1))</td></tr>" }.joined(separator: "\n")
            + "\n</table>\n</body></html>\n"
    }

    /// Markup characters as entities (`&apos;` too: valid in HTML5 and in every mail reader).
    static func escape(_ text: String) -> String { XMLText.escape(text) }

    /// The message as RFC 5322 text with a multipart/alternative MIME body, CRLF line ends.
    func rfc5322(from: String, to: [String], date: Date, messageID: String, boundary: String) -> String {
        let headers = [
            "Date: \(UTCTime(date).rfc5322)",
            "From: \(from)",
            "To: \(to.joined(separator: ", "))",
            // The subject carries a drop's name: a line feed in it would start a forged header.
            "Subject: \(Self.encodedWord(OneLine.of(subject)))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
        ]
        let body = [
            "--\(boundary)", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", text,
            "--\(boundary)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", html,
            "--\(boundary)--", "",
        ]
        return (headers + [""] + body).joined(separator: "\n")
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
