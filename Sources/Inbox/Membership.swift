import Foundation

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
