import Foundation

/// An open directory the daemon works in by descriptor, never by path.
///
/// Submitters can write in the inbox's profile folders: a path the daemon builds from a name
/// it read a moment ago may name something else by the time it is used (a folder replaced by
/// a symlink, a file swapped under its name). Every operation here goes through this
/// descriptor, which was opened with `O_DIRECTORY|O_NOFOLLOW`, and names one entry in it
/// (never a path with `/`), so nothing a submitter can rename makes the daemon follow a link.
public final class DirectoryHandle: Sendable {
    public let fd: Int32
    /// Where the directory was when it was opened, for messages only.
    public let path: String

    public enum OpenError: Error, CustomStringConvertible, Equatable {
        /// A symlink, file, FIFO, … where a directory should be.
        case notADirectory(String, what: String)
        case failed(String, errno: Int32)

        public var description: String {
            switch self {
            case .notADirectory(let path, let what): "\(path) is \(what), not a real directory; it is left alone"
            case .failed(let path, let code): "cannot open \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Opens `path`; its last component must be a real directory, not a link to one.
    public convenience init(path: String) throws(OpenError) {
        try self.init(fd: AT_FDCWD, name: path, path: path)
    }

    private init(fd parent: Int32, name: String, path: String) throws(OpenError) {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOTDIR || code == ELOOP {
                var st = stat()
                let what = fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? EntryType(st.st_mode).words : "not a directory"
                throw .notADirectory(path, what: what)
            }
            throw .failed(path, errno: code)
        }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// The directory `name` inside this one, opened the same way.
    public func directory(_ name: String) throws(OpenError) -> DirectoryHandle {
        try DirectoryHandle(fd: fd, name: name, path: path + "/" + name)
    }

    public func path(of name: String) -> String { path + "/" + name }

    /// The entry itself (a link is described, not followed); nil when there is none.
    public func status(_ name: String) -> stat? {
        var st = stat()
        return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st : nil
    }

    /// Moves `name` to `target` in `directory`; a symlink is moved as the link it is.
    public func move(_ name: String, to directory: DirectoryHandle, as target: String) throws(POSIXError) {
        guard renameat(fd, name, directory.fd, target) == 0 else { throw POSIXError.current }
    }

    public func remove(_ name: String) {
        unlinkat(fd, name, 0)
    }

    /// The names in the directory that are valid UTF-8 (others cannot be named in a receipt,
    /// a report or the store, and are left where they are), without `.` and `..`.
    public func names() -> (names: [String], undecodable: Int) {
        let copy = dup(fd)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return ([], 0)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = [], undecodable = 0
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String? in
                let bytes = raw.prefix { $0 != 0 }
                return String(validating: bytes, as: UTF8.self)
            }
            guard let name else {
                undecodable += 1
                continue
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return (names, undecodable)
    }
}

/// What `st_mode` says an entry is, in words for a report.
struct EntryType: Equatable {
    let mode: mode_t
    init(_ mode: mode_t) { self.mode = mode }

    var isRegular: Bool { mode & S_IFMT == S_IFREG }
    var isDirectory: Bool { mode & S_IFMT == S_IFDIR }

    var words: String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFDIR: "a directory"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }
}

extension POSIXError {
    /// The error `errno` holds now; read it before any other call can overwrite it.
    static var current: POSIXError { POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}
