import Glibc

/// A Unix datagram socket address in systemd's notation: a file-system path (`/run/…`), or
/// `@name` for a socket in the abstract namespace (what `NOTIFY_SOCKET` may hold).
struct UnixSocketAddress: Sendable {
    private(set) var storage = sockaddr_un()
    private(set) var length: socklen_t = 0

    /// Nil for anything else (systemd also knows `vsock:` addresses, which a daemon on the
    /// same machine is never given) and for names too long for `sun_path`.
    init?(_ name: String) {
        var bytes = Array(name.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        guard abstract || bytes.first == UInt8(ascii: "/") else { return nil }
        if abstract { bytes[0] = 0 } else { bytes.append(0) }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard bytes.count > 1, bytes.count <= capacity else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        // An abstract name is exactly its bytes: no terminating NUL is counted.
        length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
    }

    /// A new datagram socket to send to such addresses from; -1 when none can be made.
    static func datagramSocket() -> Int32 {
        socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    /// Sends `payload` as one datagram from `socket`, passing `descriptor` along with it
    /// (`SCM_RIGHTS`) when one is given. Returns 0, or the errno of the failure.
    func send(_ payload: UnsafeRawBufferPointer, from socket: Int32, passing descriptor: Int32? = nil) -> Int32 {
        var address = storage
        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress), iov_len: payload.count)
        // CMSG_SPACE(sizeof(int)): the header, then the descriptor padded to the header's alignment.
        let headerSize = MemoryLayout<cmsghdr>.size
        let controlSize = headerSize + MemoryLayout<Int>.size
        let control = UnsafeMutableRawPointer.allocate(byteCount: controlSize, alignment: MemoryLayout<cmsghdr>.alignment)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0, count: controlSize)
        if let descriptor {
            var header = cmsghdr()
            header.cmsg_len = headerSize + MemoryLayout<Int32>.size
            header.cmsg_level = SOL_SOCKET
            header.cmsg_type = Int32(SCM_RIGHTS)
            control.storeBytes(of: header, as: cmsghdr.self)
            control.storeBytes(of: descriptor, toByteOffset: headerSize, as: Int32.self)
        }
        let sent = withUnsafeMutablePointer(to: &address) { name in
            withUnsafeMutablePointer(to: &vector) { vectors in
                var message = msghdr(
                    msg_name: UnsafeMutableRawPointer(name), msg_namelen: length,
                    msg_iov: vectors, msg_iovlen: 1,
                    msg_control: descriptor == nil ? nil : control,
                    msg_controllen: descriptor == nil ? 0 : controlSize, msg_flags: 0)
                var sent: Int
                repeat { sent = sendmsg(socket, &message, Int32(MSG_NOSIGNAL)) } while sent < 0 && errno == EINTR
                return sent
            }
        }
        return sent < 0 ? errno : 0
    }
}
