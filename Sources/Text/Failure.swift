/// A failure in the operator's words, and the kind of thing that failed, which code branches
/// on instead of on the words (they may be reworded). One type where a dozen one-field
/// wrappers each carried a string.
public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// A configuration value that cannot be used (`[metrics] listen`).
        case configuration
        /// AWS credentials: missing, half-configured, refused, or a helper that failed.
        case credentials
        /// TLS could not be set up or the handshake failed.
        case tls
        /// A notification channel could not deliver.
        case notification
        /// A backend the configuration names could not be built.
        case backendUnavailable
        /// A profile's settings do not make a workflow specification.
        case specification
        /// The model worker process or its pipe failed.
        case modelWorker
        /// The engine cannot take a step (what the step needs is missing).
        case step
        /// The local backend's training failed.
        case training
        /// A backend's own state on disk could not be read or written.
        case storage
        /// The journal could not be opened or searched.
        case journal
        /// A system library the code needs could not be loaded (OpenBLAS).
        case library
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
