import FinetunedText
import FinetunedWorkflow
import Foundation

/// Notifications as mail in a local Maildir: written whole into `tmp/`, synced, then renamed
/// into `new/`, so a mail reader never sees half a message (the Maildir delivery protocol).
/// The file name is unique per outbox entry, so a delivery retried after a crash replaces
/// the same message instead of adding a second one.
struct MaildirChannel: OutboxDispatcher.Channel {
    let path: String
    var name: String { "maildir" }

    func deliver(_ entry: OutboxEntry, facts: NotificationFacts?) async throws {
        guard let facts else { throw Failure(.notification, "the outbox entry \(entry.id ?? 0) holds no readable facts") }
        for folder in ["tmp", "new", "cur"] {
            try FileManager.default.createDirectory(atPath: path + "/" + folder, withIntermediateDirectories: true)
        }
        let host = ProcessInfo.processInfo.hostName
        let unique = "\(Int(entry.createdAt.timeIntervalSince1970)).finetuned-\(entry.id ?? 0)-\(facts.workflowID).\(host)"
        let message = NotificationMessage(facts: facts).rfc5322(
            from: "finetuned <finetuned@\(host)>", to: ["\(Self.userName)@\(host)"], date: entry.createdAt,
            messageID: "\(facts.workflowID).\(entry.id ?? 0)@\(host)", boundary: "finetuned-\(facts.workflowID)")
        let temporary = path + "/tmp/" + unique
        guard FileManager.default.createFile(atPath: temporary, contents: Data(message.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Failure(.notification, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard rename(temporary, path + "/new/" + unique) == 0 else {
            throw Failure(.notification, "cannot move \(temporary) into \(path)/new: \(String(cString: strerror(errno)))")
        }
    }

    /// The daemon's user, from the password database (Foundation's `NSUserName` goes through
    /// CoreFoundation's string machinery for it).
    static var userName: String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "finetuned" }
        return String(cString: name)
    }
}
