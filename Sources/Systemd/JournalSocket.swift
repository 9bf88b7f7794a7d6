import CGlibcExtras
import Glibc

/// journald's native socket, written to directly (what libsystemd's `sd_journal_sendv` does,
/// without the library and the compression and crypto libraries it loads with it).
///
/// An entry goes in one datagram; one too large for a datagram goes in a sealed memfd whose
/// descriptor is sent instead, which journald reads and trusts because nobody can change it
/// any more. One socket serves the whole process: datagrams need no connection, so a
/// journald that restarts is found again at the same path.
final class JournalSocket: Sendable {
    static let shared = JournalSocket(path: "/run/systemd/journal/socket")

    /// How an entry went.
    enum Outcome: Equatable {
        case sent
        /// Too large for a datagram: sent as a sealed memfd.
        case sentSealed
        /// Nobody listens at the socket: the entry is dropped, as libsystemd drops it.
        case noJournal
        case failed(errno: Int32)
    }

    private let descriptor: Int32
    private let address: UnixSocketAddress?

    /// `sendBufferSize` bounds the largest datagram; libsystemd asks for 8 MiB (the system
    /// caps it at net.core.wmem_max), and so do we.
    init(path: String, sendBufferSize: Int32 = 8 << 20) {
        address = UnixSocketAddress(path)
        descriptor = UnixSocketAddress.datagramSocket()
        if descriptor >= 0 {
            var size = sendBufferSize
            _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    @discardableResult
    func send(_ fields: [(String, String)]) -> Outcome {
        guard descriptor >= 0, let address else { return .failed(errno: EBADF) }
        let entry = JournalEntry.serialize(fields)
        var outcome = Self.outcome(entry.withUnsafeBytes { address.send($0, from: descriptor) }, success: .sent)
        if outcome == .failed(errno: EMSGSIZE) || outcome == .failed(errno: ENOBUFS) {
            outcome = Self.outcome(sendSealed(entry, to: address), success: .sentSealed)
        }
        return outcome
    }

    private static func outcome(_ failure: Int32, success: Outcome) -> Outcome {
        switch failure {
        case 0: success
        case ENOENT, ECONNREFUSED: .noJournal
        default: .failed(errno: failure)
        }
    }

    /// Returns 0, or the errno of the failure.
    private func sendSealed(_ entry: [UInt8], to address: UnixSocketAddress) -> Int32 {
        let memfd = memfd_create("journal-entry", UInt32(FINETUNED_MFD_CLOEXEC | FINETUNED_MFD_ALLOW_SEALING))
        guard memfd >= 0 else { return errno }
        defer { close(memfd) }
        var written = 0
        while written < entry.count {
            let count = entry.withUnsafeBytes { write(memfd, $0.baseAddress! + written, entry.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                return errno
            }
            written += count
        }
        let seals = Int32(FINETUNED_F_SEAL_SEAL | FINETUNED_F_SEAL_SHRINK | FINETUNED_F_SEAL_GROW | FINETUNED_F_SEAL_WRITE)
        guard fcntl(memfd, Int32(FINETUNED_F_ADD_SEALS), seals) == 0 else { return errno }
        return [UInt8]().withUnsafeBytes { address.send($0, from: descriptor, passing: memfd) }
    }
}
