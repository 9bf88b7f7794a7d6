import FinetunedText
import Foundation

/// Newline-ended lines from a pipe, read with blocking `read(2)` by the one thread that owns
/// the reader (a worker's main thread, or the daemon's thread for that worker).
struct PipeLineReader {
    let descriptor: Int32
    private var buffer: [UInt8] = []
    private var scanned = 0

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// The next line without its newline; nil at end of file (a last line without a newline
    /// is a message cut short, and is dropped).
    mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                scanned = 0
                return line
            }
            scanned = buffer.count
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(.modelWorker, "read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}

/// Writes all of `bytes`, retrying short writes and interrupted calls.
public func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written < 0 {
            if errno == EINTR { continue }
            throw Failure(.modelWorker, "write: \(String(cString: strerror(errno)))")
        }
        offset += written
    }
}
