/// Stable journald `MESSAGE_ID`s (128-bit, generated once at random) for the
/// events an operator filters or alerts on: `journalctl MESSAGE_ID=…` finds them whatever
/// the wording of the message becomes.
public enum LogMessageID: String, CaseIterable, Sendable {
    case daemonReady = "d170a3593be846bb9bd34960f37dd99e"
    case configurationReloaded = "f0513a28f7e04719b33cf6d6fb7a9bf2"
    case configurationRejected = "88c18d022a844aa8b2d8bf024eff0d23"
    case dropAccepted = "f62c65ed33a246e9a2e3fab77393b249"
    case dropRejected = "338731b5f24b4f5085f2b4fa049ea8fb"
    case jobStarted = "e933302cb3954c3b9cb498eb03ca5cd1"
    case jobFinished = "fc8c6c4609e648b584317a364c3fc3a2"
    case modelPromoted = "03cfe3dc5ea6488486de6f58f09184e6"
    case throughputDeleted = "d982a8c77ff0417c929d1111710e7246"
    case workflowFailed = "d09b7327c840438989f48ee984f6d944"

    /// The metadata entry that becomes the `MESSAGE_ID` field.
    public var metadata: (key: String, value: String) { ("message_id", rawValue) }
}
