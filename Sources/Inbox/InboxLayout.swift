import Foundation

/// The inbox's directories and the moves between them, all within the state directory's
/// filesystem so every move is an atomic `rename`.
public struct InboxLayout: Sendable {
    public var inbox: String
    public var spool: String
    public var rejected: String
    public var archive: String
    public var submitGroup: String

    public init(inbox: String, spool: String, rejected: String, archive: String, submitGroup: String) {
        self.inbox = inbox
        self.spool = spool
        self.rejected = rejected
        self.archive = archive
        self.submitGroup = submitGroup
    }

    public func profileFolder(_ profile: String) -> String { inbox + "/" + profile }
    public func spoolFile(_ workflowID: String) -> String { spool + "/" + workflowID + ".jsonl" }
    public func spoolSidecar(_ workflowID: String) -> String { spool + "/" + workflowID + ".toml" }
    public func archiveFolder(_ workflowID: String) -> String { archive + "/" + workflowID }

    /// Creates the folders the daemon owns; profile folders are group-writable for the submit
    /// group and setgid, so drops and folders stay in that group.
    public func prepare(profiles: [String]) throws {
        let fm = FileManager.default
        for dir in [inbox, spool, rejected, archive] where !fm.fileExists(atPath: dir) {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
        chmod(spool, 0o700)
        let gid = getgrnam(submitGroup).map { $0.pointee.gr_gid }
        for profile in profiles {
            let folder = profileFolder(profile)
            if !fm.fileExists(atPath: folder) {
                // Under systemd the inbox is setgid (tmpfiles.d), so a new folder inherits the
                // submit group and the setgid bit by itself; but the unit's UMask=0027 would
                // take the group's write bit, and the sandbox (RestrictSUIDSGID=) refuses a
                // chmod that names the setgid bit. So the folder is made with the mode it
                // needs, under a umask that keeps group write, for that one call.
                let previous = umask(0o007)
                let made = mkdir(folder, 0o770)
                let code = errno
                umask(previous)
                guard made == 0 || code == EEXIST else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO) }
            }
            var info = stat()
            guard stat(folder, &info) == 0 else { continue }
            if let gid, info.st_gid != gid { chown(folder, geteuid(), gid) }
            if info.st_mode & 0o7777 != 0o2770 && chmod(folder, 0o2770) != 0 {
                // Outside a setgid inbox and under RestrictSUIDSGID: group write still matters more.
                chmod(folder, 0o770)
            }
        }
    }

    /// A free destination in `rejected/<profile>/` for `name`: the name itself, or the name
    /// with a UTC timestamp (and a counter) so an earlier rejection is never overwritten.
    public func rejectionTarget(profile: String, name: String, at date: Date = Date()) throws -> String {
        let folder = rejected + "/" + profile
        if !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
        let base = name.hasSuffix(".jsonl") ? String(name.dropLast(6)) : name
        let stamp = Self.timestamp(date)
        var candidates = [name, "\(base).\(stamp).jsonl"]
        candidates += (2...1000).map { "\(base).\(stamp)-\($0).jsonl" }
        for candidate in candidates {
            var st = stat()
            if lstat(folder + "/" + candidate, &st) != 0 && errno == ENOENT { return folder + "/" + candidate }
        }
        throw POSIXError(.EEXIST)
    }

    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }
}
