import Foundation

/// What the daemon tells whoever dropped a file: `.NAME.receipt` beside where the drop was,
/// readable by the submit group, with the workflow id and, once known, the verdict.
/// `finetunectl submit` waits for it; submitters need no access to the control socket.
public struct Receipt: Codable, Sendable, Equatable {
    public var workflowID: String
    /// `claimed`, then `validated` or `rejected`.
    public var stage: String
    public var detail: String?
    /// The rejection report, for rejected drops.
    public var report: String?

    public init(workflowID: String, stage: String, detail: String? = nil, report: String? = nil) {
        self.workflowID = workflowID
        self.stage = stage
        self.detail = detail
        self.report = report
    }

    public static func path(folder: String, dropName: String) -> String { folder + "/" + name(for: dropName) }
    static func name(for dropName: String) -> String { "." + dropName + ".receipt" }

    /// Written atomically: a reader sees the old receipt or the new one, never half of one.
    /// The folder is writable by submitters, so the temporary file is created anew under a
    /// random name (`O_EXCL|O_NOFOLLOW`: a planted link or file makes it fail, never lets it
    /// write elsewhere) and renamed over the receipt, which replaces whatever had its name.
    func write(in folder: DirectoryHandle, dropName: String) {
        guard DropName.problem(with: dropName) == nil, let data = try? JSONEncoder().encode(self) else { return }
        let temporary = "." + dropName + ".receipt." + String(UInt32.random(in: .min ... .max), radix: 16) + ".tmp"
        let fd = openat(folder.fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        let written = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == data.count, renameat(folder.fd, temporary, folder.fd, Self.name(for: dropName)) == 0 else {
            unlinkat(folder.fd, temporary, 0)
            return
        }
    }

    /// Removes the daemon's receipts (and temporary files it left) nobody collected after a
    /// day, so they do not pile up; a file the daemon does not own is not its to remove.
    static func removeStale(in folder: DirectoryHandle, olderThan age: TimeInterval = 86_400) {
        let now = Date().timeIntervalSince1970
        for name in folder.names().names where name.hasPrefix(".") && (name.hasSuffix(".receipt") || name.hasSuffix(".tmp")) {
            guard let st = folder.status(name), st.st_uid == geteuid(), EntryType(st.st_mode).isRegular,
                now - Double(st.st_mtim.tv_sec) > age
            else { continue }
            folder.remove(name)
        }
    }
}
