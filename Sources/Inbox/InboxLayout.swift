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
    /// The daemon's copy of a drop, which validation, upload and evaluation read.
    public func spoolFile(_ workflowID: String) -> String { spool + "/" + workflowID + ".jsonl" }
    public func spoolSidecar(_ workflowID: String) -> String { spoolCompanion(workflowID, .sidecar) }
    /// The daemon's copy of a companion (or of the configured set a sidecar named).
    public func spoolCompanion(_ workflowID: String, _ companion: Companion) -> String {
        spool + "/" + workflowID + companion.suffix
    }
    public func archiveFolder(_ workflowID: String) -> String { archive + "/" + workflowID }

    /// The submitter's own file, moved into the spool by the claim and read once from there.
    static func claimedName(_ workflowID: String) -> String { workflowID + ".claimed" }
    static func claimedName(_ workflowID: String, _ companion: Companion) -> String { workflowID + companion.suffix + ".claimed" }
    public func claimedPath(_ workflowID: String) -> String { spool + "/" + Self.claimedName(workflowID) }

    /// The inbox's folders, open: what the daemon found in place of a profile folder it
    /// could not use is in `problems`, and that profile takes no drops until it is fixed.
    public struct Opened: Sendable {
        public var root: DirectoryHandle
        public var spool: DirectoryHandle
        public var folders: [String: DirectoryHandle]
        public var problems: [String: String]
    }

    /// Creates the folders the daemon owns and opens them. Profile folders are `3770`:
    /// the submit group may drop files, and the sticky bit keeps one member from deleting or
    /// renaming another's drop; setgid keeps drops in the submit group.
    public func prepare(profiles: [String]) throws -> Opened {
        let fm = FileManager.default
        for dir in [inbox, spool, rejected, archive] where !fm.fileExists(atPath: dir) {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        }
        chmod(spool, 0o700)
        let root = try DirectoryHandle(path: inbox)
        let spoolHandle = try DirectoryHandle(path: spool)
        var rootInfo = stat()
        if fstat(root.fd, &rootInfo) == 0, rootInfo.st_uid == geteuid(), rootInfo.st_mode & 0o020 != 0, rootInfo.st_mode & S_ISVTX == 0 {
            // A group-writable inbox without the sticky bit lets a member rename a profile folder.
            fchmod(root.fd, (rootInfo.st_mode & 0o777) | S_ISVTX)
        }
        let gid = getgrnam(submitGroup).map { $0.pointee.gr_gid }
        var folders: [String: DirectoryHandle] = [:], problems: [String: String] = [:]
        for profile in profiles {
            if root.status(profile) == nil {
                // Under systemd the inbox is setgid (tmpfiles.d), so a new folder inherits the
                // submit group and the setgid bit by itself; but the unit's UMask=0027 would
                // take the group's write bit, and the sandbox (RestrictSUIDSGID=) refuses a
                // chmod that names the setgid bit. So the folder is made with the mode it
                // needs, under a umask that keeps group write, for that one call.
                let previous = umask(0o007)
                let made = mkdirat(root.fd, profile, 0o1770)
                let code = errno
                umask(previous)
                guard made == 0 || code == EEXIST else {
                    problems[profile] = "cannot create \(profileFolder(profile)): \(String(cString: strerror(code)))"
                    continue
                }
            }
            let folder: DirectoryHandle
            do { folder = try root.directory(profile) } catch {
                problems[profile] = error.description
                continue
            }
            var info = stat()
            guard fstat(folder.fd, &info) == 0 else { continue }
            // A folder a submitter made before the daemon did is theirs to empty at will:
            // the sticky bit does not bind a directory's owner.
            guard info.st_uid == geteuid() else {
                problems[profile] =
                    "\(profileFolder(profile)) is owned by uid \(info.st_uid), not by the daemon; it is left alone (remove it, and the daemon makes its own)"
                continue
            }
            if let gid, info.st_gid != gid { fchown(folder.fd, geteuid(), gid) }
            if info.st_mode & 0o7777 != 0o3770 && fchmod(folder.fd, 0o3770) != 0 {
                // Outside a setgid inbox and under RestrictSUIDSGID: the sticky bit and group
                // write matter more than setgid.
                fchmod(folder.fd, 0o1770)
            }
            folders[profile] = folder
        }
        return Opened(root: root, spool: spoolHandle, folders: folders, problems: problems)
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
