import Foundation

/// Secrets that never sit in the configuration (the SMTP password, the webhook key, the
/// store's password): read from a file the operator names, or from a systemd credential.
/// The notification channels read theirs at delivery time, so a rotated secret needs no reload.
public enum Secret {
    /// A secret from an absolute path, or by name from `$CREDENTIALS_DIRECTORY` (systemd's
    /// `LoadCredential=`); the trailing newline an editor adds is not part of it. A failure is
    /// reported as `kind`: whose secret it was.
    public static func read(
        _ reference: String, kind: Failure.Kind = .notification, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String {
        let path: String
        if reference.hasPrefix("/") {
            path = reference
        } else if let directory = environment["CREDENTIALS_DIRECTORY"] {
            path = directory + "/" + reference
        } else {
            throw Failure(kind, "the secret '\(reference)' is not a path and no systemd credentials were passed (LoadCredential=)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(kind, "cannot read the secret file \(path)")
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.last == "\n" || text.last == "\r\n" || text.last == "\r" { text.removeLast() }
        return text
    }
}
