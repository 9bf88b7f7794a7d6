import Crypto
import FinetunedText
import Foundation

/// Names and client tokens derived from the workflow, its attempt and the step, never drawn
/// at random: a run resumed after a crash computes the same ones, so it finds what it
/// created before (by name) and the service recognises a repeated request (by token).
public enum ResourceNaming {
    /// Bedrock's `clientRequestToken`: `[a-zA-Z0-9](-*[a-zA-Z0-9])*`, at most 256 characters.
    public static func clientToken(workflowID: String, attempt: Int, step: String) -> String {
        let digest = SHA256.hash(data: Data("finetuned/\(workflowID)/\(attempt)/\(step)".utf8))
        return "ft" + digest.prefix(16).hex
    }

    /// `stem` for the first attempt, `stem-a2` for the second, within Bedrock's 63 characters.
    public static func name(_ stem: String, attempt: Int) -> String {
        let suffix = attempt > 1 ? "-a\(attempt)" : ""
        return String(stem.prefix(63 - suffix.count)) + suffix
    }

    /// A name stem from free text: letters, digits and hyphens, starting with a letter or digit.
    public static func sanitize(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            // ASCII letters and digits, tested by range: Foundation's CharacterSet would keep its
            // Unicode tables resident in the daemon for this.
            if ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else if !out.hasSuffix("-") {
                out += "-"
            }
        }
        while out.hasPrefix("-") { out.removeFirst() }
        while out.hasSuffix("-") { out.removeLast() }
        return out.isEmpty ? "finetuned" : out
    }

    /// The longest name prefix: `-<workflow id>` (21 characters) and a retry's `-a<n>` still
    /// fit in Bedrock's 63 after it, and are never cut off.
    public static let maxPrefixLength = 36

    /// A name prefix from free text (a profile's name): sanitized, at most `maxPrefixLength`.
    public static func prefix(_ text: String) -> String {
        var prefix = String(sanitize(text).prefix(maxPrefixLength))
        while prefix.hasSuffix("-") { prefix.removeLast() }
        return prefix
    }

    /// The tags every resource of a workflow carries, so it can be found again.
    public static func tags(workflowID: String, profile: String, extra: [String: String] = [:]) -> [String: String] {
        extra.merging(["finetuned:workflow-id": workflowID, "finetuned:profile": profile]) { _, ours in ours }
    }
}
