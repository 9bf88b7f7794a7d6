/// How sending mail failed, sorted by what to do about it.
public enum SMTPError: Error, Sendable, Equatable, CustomStringConvertible {
    case connectionFailed(String)
    case tls(String)
    case timeout(during: String)
    /// A 4xx reply: the server asks us to try again later.
    case transient(code: Int, text: String, during: String)
    /// A 5xx reply: retrying the same message will not help (bad address, auth refused, …).
    case permanent(code: Int, text: String, during: String)
    case protocolViolation(String)
    /// The connection failed after the message's final dot was sent and before the server
    /// answered: it may have been delivered, so a retry may send it twice.
    case outcomeUnknown(String)

    public var isRetryable: Bool {
        switch self {
        case .permanent, .protocolViolation: false
        case .tls(let message): !message.contains("certificate")
        default: true
        }
    }

    public var description: String {
        switch self {
        case .connectionFailed(let message): "cannot reach the SMTP server: \(message)"
        case .tls(let message): "SMTP TLS: \(message)"
        case .timeout(let during): "the SMTP server did not answer in time (\(during))"
        case .transient(let code, let text, let during): "temporary SMTP failure \(code) after \(during): \(text)"
        case .permanent(let code, let text, let during): "SMTP refused with \(code) after \(during): \(text)"
        case .protocolViolation(let message): "the SMTP server broke the protocol: \(message)"
        case .outcomeUnknown(let message):
            "the connection broke after the message was sent, before the server confirmed it (it may have been delivered): \(message)"
        }
    }
}
