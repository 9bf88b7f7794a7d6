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

    public static func path(folder: String, dropName: String) -> String { folder + "/." + dropName + ".receipt" }

    /// Written atomically: a reader sees the old receipt or the new one, never half of one.
    func write(folder: String, dropName: String) {
        let target = Self.path(folder: folder, dropName: dropName)
        let temporary = folder + "/." + dropName + ".receipt.tmp"
        guard let data = try? JSONEncoder().encode(self) else { return }
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o640]) else { return }
        rename(temporary, target)
    }

    /// Removes receipts nobody collected after a day, so they do not pile up.
    static func removeStale(folder: String, olderThan age: TimeInterval = 86_400) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".receipt") {
            var st = stat()
            if lstat(folder + "/" + name, &st) == 0, Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec) > age {
                unlink(folder + "/" + name)
            }
        }
    }
}
