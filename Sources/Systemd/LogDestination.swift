import Foundation
import Logging

/// Where the daemon's log goes.
public enum LogDestination: String, Sendable, CaseIterable {
    /// journald when stderr is connected to it (the `JOURNAL_STREAM` check), stderr otherwise.
    case automatic = "auto"
    case journal
    case stderr

    /// Resolves `automatic` the way systemd documents it: `JOURNAL_STREAM` holds the
    /// `device:inode` of the stream journald gave us, and only counts if stderr still is it
    /// (a child whose stderr was redirected must not log to the journal behind the user's back).
    public func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) -> LogDestination {
        guard self == .automatic else { return self }
        guard let stream = environment["JOURNAL_STREAM"] else { return .stderr }
        let parts = stream.split(separator: ":")
        var st = stat()
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]),
            fstat(STDERR_FILENO, &st) == 0
        else { return .stderr }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino ? .journal : .stderr
    }

    /// Installs the handler for the whole process; call once, before the first logger is made.
    public func bootstrap(level: Logger.Level, identifier: String = "finetuned") {
        let destination = resolved()
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler =
                switch destination {
                case .journal: JournalLogHandler(label: label, identifier: identifier)
                case .stderr, .automatic: StderrLogHandler(label: label)
                }
            handler.logLevel = level
            return handler
        }
    }
}
