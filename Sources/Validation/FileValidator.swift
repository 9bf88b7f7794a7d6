import AdapterKit
import Foundation

/// Validates a JSONL file in one streaming pass with constant memory.
///
/// Lines are split in a fixed buffer (`maximumLineBytes` plus one read); a longer line is
/// reported and skipped without ever being held whole, so a 100 MB line costs no 100 MB.
public struct FileValidator: Sendable {
    public var plan: ValidationPlan
    /// An adapter's own per-record check, called with each valid record.
    public var recordHook: (@Sendable (JSONValue) -> [RecordProblem])?

    static let readSize = 1 << 20

    public init(plan: ValidationPlan, recordHook: (@Sendable (JSONValue) -> [RecordProblem])? = nil) {
        self.plan = plan
        self.recordHook = recordHook
    }

    /// Opens `path` without following a symlink and without blocking on a FIFO, and validates it.
    /// `observe` sees every byte read, in order, so a caller can hash the file in the same pass.
    public func validate(
        path: String, displayName: String? = nil, observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) -> ValidationReport {
        let name = displayName ?? (path as NSString).lastPathComponent
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link, which is never followed" : String(cString: strerror(errno))
            return Self.unreadable(name, plan: plan, "cannot open: \(reason)")
        }
        defer { close(fd) }
        return validate(fd: fd, displayName: name, observe: observe)
    }

    /// Validates an open file; the caller keeps ownership of `fd`.
    public func validate(
        fd: Int32, displayName: String, observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) -> ValidationReport {
        var before = stat()
        guard fstat(fd, &before) == 0 else { return Self.unreadable(displayName, plan: plan, "cannot stat: \(String(cString: strerror(errno)))") }
        guard before.st_mode & S_IFMT == S_IFREG else {
            return Self.unreadable(displayName, plan: plan, "not a regular file (\(Self.fileType(before.st_mode)))")
        }
        var run = ValidationRun(plan: plan, displayName: displayName, recordHook: recordHook)
        run.bytes = Int(before.st_size)
        if let error = readLines(fd: fd, into: &run, observe: observe) {
            run.problem(.error, .unreadable, line: 0, column: 0, "reading failed: \(error)")
        }
        var after = stat()
        if fstat(fd, &after) == 0,
            after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec
                || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec
        {
            run.problem(
                .error, .fileChanged, line: 0, column: 0,
                "the file changed while it was being read (\(before.st_size) → \(after.st_size) bytes); drop it again once it is complete")
        }
        return run.finish()
    }

    private func readLines(fd: Int32, into run: inout ValidationRun, observe: (UnsafeRawBufferPointer) -> Void) -> String? {
        let capacity = plan.maximumLineBytes + Self.readSize
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var filled = 0
        var skipping: (line: Int, length: Int)? = nil
        var first = true
        while true {
            let n = read(fd, buffer + filled, min(Self.readSize, capacity - filled))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return "the file would block (is it a FIFO?)" }
                return String(cString: strerror(errno))
            }
            let eof = n == 0
            if n > 0 { observe(UnsafeRawBufferPointer(start: buffer + filled, count: n)) }
            filled += n
            var position = 0
            if first && filled >= 3 || eof && first {
                first = false
                if filled >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF {
                    run.problem(.error, .byteOrderMark, line: 1, column: 1, "the file starts with a UTF-8 byte order mark; save it without one")
                    position = 3
                }
            }
            while position < filled,
                let newline = memchr(buffer + position, 0x0A, filled - position)?.assumingMemoryBound(to: UInt8.self)
            {
                let end = buffer.distance(to: newline)
                if let skipped = skipping {
                    run.longLine(line: skipped.line, length: skipped.length + end - position)
                    skipping = nil
                } else {
                    run.line(UnsafeBufferPointer(start: buffer + position, count: end - position))
                }
                position = end + 1
            }
            if eof {
                if let skipped = skipping {
                    run.longLine(line: skipped.line, length: skipped.length + filled - position)
                } else if position < filled {
                    run.line(UnsafeBufferPointer(start: buffer + position, count: filled - position))
                }
                return nil
            }
            let remaining = filled - position
            if var skipped = skipping {
                skipped.length += remaining
                skipping = skipped
                filled = 0
            } else if remaining >= plan.maximumLineBytes {
                skipping = (run.nextLineNumber(), remaining)
                filled = 0
            } else {
                if remaining > 0 && position > 0 { memmove(buffer, buffer + position, remaining) }
                filled = remaining
            }
        }
    }

    static func unreadable(_ name: String, plan: ValidationPlan, _ message: String) -> ValidationReport {
        var run = ValidationRun(plan: plan, displayName: name, recordHook: nil)
        run.problem(.error, .unreadable, line: 0, column: 0, message)
        return run.finish()
    }

    static func fileType(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }
}
