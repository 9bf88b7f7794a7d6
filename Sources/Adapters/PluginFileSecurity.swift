import Foundation

/// The StrictModes rule for code the daemon loads: a plugin file, and every directory above
/// it, must be owned by root or the daemon's user and writable by nobody else. Otherwise
/// anyone who can write there can run code as the daemon (and spend its AWS money).
///
/// One allowance: a directory owned by root with the sticky bit (such as /tmp) may be
/// world-writable, since others cannot rename or remove what they do not own inside it.
public enum PluginFileSecurity {
    /// Why `path` is not safe to load, or nil when it is.
    public static func problem(with path: String, trustedUID: uid_t = geteuid()) -> String? {
        // Every directory up to the root is checked, so a relative path (`--adapter-dir
        // .build/release`) is made absolute first: walking up "a/b" would end at "", not "/".
        guard let path = absolutePath(path) else {
            return "cannot resolve \(path) against the working directory: \(String(cString: strerror(errno)))"
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { return "cannot stat: \(String(cString: strerror(errno)))" }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return "not a regular file" }
        if let problem = ownershipProblem(st, what: "the file", trustedUID: trustedUID, allowSticky: false) {
            return problem
        }
        var directory = ((path as NSString).deletingLastPathComponent as NSString).standardizingPath
        while true {
            var dst = stat()
            guard stat(directory, &dst) == 0 else {
                return "cannot stat directory \(directory): \(String(cString: strerror(errno)))"
            }
            if let problem = ownershipProblem(dst, what: "directory \(directory)", trustedUID: trustedUID, allowSticky: true) {
                return problem
            }
            if directory == "/" || directory.isEmpty { break }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return nil
    }

    /// `path` as seen from the working directory when it is relative; nil when the working
    /// directory cannot be read (removed under us).
    public static func absolutePath(_ path: String) -> String? {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return nil }
        defer { free(cwd) }
        let base = String(cString: cwd)
        return path.isEmpty || path == "." ? base : (base == "/" ? "" : base) + "/" + path
    }

    static func ownershipProblem(_ st: stat, what: String, trustedUID: uid_t, allowSticky: Bool) -> String? {
        guard st.st_uid == 0 || st.st_uid == trustedUID else {
            return "\(what) is owned by uid \(st.st_uid), not by root or the daemon's user"
        }
        let writableByOthers = st.st_mode & (S_IWGRP | S_IWOTH) != 0
        guard writableByOthers else { return nil }
        if allowSticky && st.st_uid == 0 && st.st_mode & S_ISVTX != 0 { return nil }
        let who = st.st_mode & S_IWOTH != 0 ? "anyone" : "its group"
        return "\(what) is writable by \(who) (mode \(String(st.st_mode & 0o7777, radix: 8)))"
    }
}
