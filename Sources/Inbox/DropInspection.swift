import Foundation

/// What kind of thing sits at a path in the inbox, found without following anything.
enum DropKind: Equatable {
    case regular(owner: uid_t, group: gid_t)
    /// Not a regular file; the reason says what it is.
    case notRegular(String)
    case gone

    static func inspect(_ path: String) -> DropKind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .gone }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular(owner: st.st_uid, group: st.st_gid)
        case S_IFLNK:
            var target = [UInt8](repeating: 0, count: 4096)
            let n = readlink(path, &target, target.count - 1)
            let to = n > 0 ? " to \(String(decoding: target[0..<n], as: UTF8.self))" : ""
            return .notRegular("a symbolic link\(to); links are never followed, drop the file itself")
        case S_IFIFO: return .notRegular("a FIFO, not a regular file")
        case S_IFDIR: return .notRegular("a directory, not a regular file")
        case S_IFCHR, S_IFBLK: return .notRegular("a device, not a regular file")
        case S_IFSOCK: return .notRegular("a socket, not a regular file")
        default: return .notRegular("not a regular file")
        }
    }
}

/// Whether the user `uid` belongs to `group` (root always does).
func userBelongs(uid: uid_t, to group: String) -> Bool {
    if uid == 0 { return true }
    guard let entry = getgrnam(group) else { return false }
    let gid = entry.pointee.gr_gid
    if let user = getpwuid(uid) {
        if user.pointee.pw_gid == gid { return true }
        let name = String(cString: user.pointee.pw_name)
        var member = entry.pointee.gr_mem
        while let m = member?.pointee {
            if String(cString: m) == name { return true }
            member = member?.advanced(by: 1)
        }
    }
    return false
}
