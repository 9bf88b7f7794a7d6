import Crypto
import FinetunedText
import Foundation

/// Copies a file a submitter handed over into a file only the daemon can write, checking it
/// from its open descriptor first, so what is validated, uploaded and evaluated is exactly
/// the bytes that were checked.
///
/// The submitter's inode is never used after the copy: a hard link or an open descriptor the
/// submitter kept could change it between validation and upload. Every check is on `fstat`
/// of the one descriptor the copy reads from, before a byte is read, so a terabyte sparse
/// file costs a system call, not a terabyte of zeros.
public enum SubmittedFile {
    /// What was copied: the copy's digest, size, and the uid that owned the original.
    public struct Copy: Sendable, Equatable {
        public var sha256: String
        public var bytes: Int
        public var owner: UInt32
    }

    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case gone
        case symbolicLink
        case notRegular(String)
        case hardLinks(Int)
        case tooLarge(bytes: Int, limit: Int)
        case sparse(bytes: Int)
        case changed(before: Int, after: Int)
        case unreadable(String)

        public var description: String {
            switch self {
            case .gone: "it vanished before it could be read"
            case .symbolicLink: "it is a symbolic link; links are never followed, drop the file itself"
            case .notRegular(let what): "it is \(what), not a regular file"
            case .hardLinks(let n): "it has \(n) hard links; drop a file with one link (copy it rather than link it)"
            case .tooLarge(let bytes, let limit): "it is \(bytes) bytes, over the limit of \(limit) bytes"
            case .sparse(let bytes): "it is a sparse file (\(bytes) bytes with holes); drop a file written out in full"
            case .changed(let before, let after):
                "it changed while it was being copied (\(before) → \(after) bytes); drop it again once it is complete"
            case .unreadable(let reason): "it cannot be read: \(reason)"
            }
        }
    }

    static let chunk = 1 << 20
    /// `SEEK_HOLE` from <unistd.h>, which Glibc's module leaves out (it needs _GNU_SOURCE).
    static let seekHole: Int32 = 4

    /// Copies `name` in `source` to `target` in `destination` (mode 0600, created anew),
    /// refusing anything that is not a regular file with one link, at most `limit` bytes and
    /// without holes. Blocking: call it from a worker thread.
    public static func copy(
        _ name: String, in source: DirectoryHandle, to target: String, in destination: DirectoryHandle, limit: Int
    ) throws(Refusal) -> Copy {
        let fd = openat(source.fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT: throw .gone
            case ELOOP: throw .symbolicLink
            case ENXIO: throw .notRegular("a socket")
            default: throw .unreadable(String(cString: strerror(code)))
            }
        }
        defer { close(fd) }
        var before = stat()
        guard fstat(fd, &before) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        let type = EntryType(before.st_mode)
        guard type.isRegular else { throw .notRegular(type.words) }
        guard before.st_nlink == 1 else { throw .hardLinks(Int(before.st_nlink)) }
        let size = Int(before.st_size)
        guard size <= limit else { throw .tooLarge(bytes: size, limit: limit) }
        if isSparse(fd: fd, size: size, blocks: Int(before.st_blocks)) { throw .sparse(bytes: size) }

        let partial = target + ".part"
        unlinkat(destination.fd, partial, 0)
        let out = openat(destination.fd, partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else {
            throw .unreadable("cannot create the daemon's copy \(destination.path(of: partial)): \(String(cString: strerror(errno)))")
        }
        var finished = false
        defer {
            close(out)
            if !finished { unlinkat(destination.fd, partial, 0) }
        }
        var hasher: SHA256? = SHA256()
        let copied = try pump(from: fd, to: out, hasher: &hasher, limit: size, outPath: destination.path(of: partial))
        var after = stat()
        guard fstat(fd, &after) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        guard copied == size, after.st_size == before.st_size, after.st_mtim.tv_sec == before.st_mtim.tv_sec,
            after.st_mtim.tv_nsec == before.st_mtim.tv_nsec
        else {
            throw .changed(before: size, after: max(copied, Int(after.st_size)))
        }
        guard fsync(out) == 0 else { throw .unreadable("cannot sync the daemon's copy: \(String(cString: strerror(errno)))") }
        guard renameat(destination.fd, partial, destination.fd, target) == 0 else {
            throw .unreadable("cannot name the daemon's copy \(destination.path(of: target)): \(String(cString: strerror(errno)))")
        }
        finished = true
        return Copy(sha256: hasher!.finalize().hex, bytes: copied, owner: UInt32(before.st_uid))
    }

    /// A file with a hole reads as zeros nobody wrote: `SEEK_HOLE` finds the first hole
    /// (the end of the file when there is none). Where the filesystem cannot say, allocated
    /// blocks far below the size give it away.
    static func isSparse(fd: Int32, size: Int, blocks: Int) -> Bool {
        guard size > 0 else { return false }
        let hole = lseek(fd, 0, seekHole)
        if hole >= 0 {
            lseek(fd, 0, SEEK_SET)
            return Int(hole) < size
        }
        // st_blocks counts 512-byte units; allow for compression and inline small files.
        return size > 1 << 20 && blocks.multipliedReportingOverflow(by: 512).partialValue < size / 2
    }

    /// Copies everything `fd` holds to `out`; more than `limit` bytes means the file grew
    /// since it was checked, and the copy stops there rather than cost more.
    static func pump(from fd: Int32, to out: Int32, hasher: inout SHA256?, limit: Int, outPath: String) throws(Refusal) -> Int {
        var copied = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(String(cString: strerror(errno)))
            }
            if n == 0 { return copied }
            copied += n
            guard copied <= limit else { throw .changed(before: limit, after: copied) }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher?.update(bufferPointer: bytes)
            try writeAll(out, bytes, to: outPath)
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, to path: String) throws(Refusal) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable("cannot write the daemon's copy \(path): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }
}
