import FinetunedText
import Foundation

/// Secrets of the notification channels (the SMTP password, the webhook key): never in the
/// configuration, read at delivery time so a rotated secret needs no reload.
enum Secret {
    /// A secret from an absolute path, or by name from `$CREDENTIALS_DIRECTORY` (systemd's
    /// `LoadCredential=`); the trailing newline an editor adds is not part of it.
    static func read(_ reference: String) throws -> String {
        let path: String
        if reference.hasPrefix("/") {
            path = reference
        } else if let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"] {
            path = directory + "/" + reference
        } else {
            throw Failure(.notification, "the secret '\(reference)' is not a path and no systemd credentials were passed (LoadCredential=)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(.notification, "cannot read the secret file \(path)")
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.last == "\n" || text.last == "\r\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
