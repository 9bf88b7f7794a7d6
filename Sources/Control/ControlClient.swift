import Foundation

/// Talks to the daemon's control socket from `finetunectl`.
///
/// Plain blocking POSIX calls: a CLI makes one request and exits, so an event loop would
/// only add start-up time.
public struct ControlClient: Sendable {
    public let socketPath: String
    public var timeoutSeconds: Int

    public init(socketPath: String, timeoutSeconds: Int = 30) {
        self.socketPath = socketPath
        self.timeoutSeconds = timeoutSeconds
    }

    /// Sends one request and decodes its single answer.
    public func call<R: Codable & Sendable>(_ request: ControlRequest, as type: R.Type) throws(ControlClientError) -> R {
        var result: R?
        try stream(request) { line throws(ControlClientError) in
            result = try Self.decode(line, as: R.self)
            return false
        }
        guard let result else { throw .protocolError("the daemon closed the connection without answering") }
        return result
    }

    /// Sends one request and returns its result as JSON text, for results whose schema is
    /// defined outside this module.
    public func callRaw(_ request: ControlRequest) throws(ControlClientError) -> String {
        var result: String?
        try stream(request) { line throws(ControlClientError) in
            try Self.checkEnvelope(line)
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let value = object["result"],
                let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
            else { throw .protocolError("the daemon's answer has no result") }
            result = String(decoding: data, as: UTF8.self)
            return false
        }
        guard let result else { throw .protocolError("the daemon closed the connection without answering") }
        return result
    }

    /// Sends one request and hands each answer line to `body` until it returns false or the
    /// daemon closes the connection.
    public func stream(_ request: ControlRequest, _ body: (String) throws(ControlClientError) -> Bool) throws(ControlClientError) {
        let fd = try connect()
        defer { close(fd) }
        let payload: [UInt8]
        do {
            payload = Array(try JSONEncoder.control.encode(request)) + [UInt8(ascii: "\n")]
        } catch {
            throw .protocolError("cannot encode the request: \(error)")
        }
        var offset = 0
        while offset < payload.count {
            // MSG_NOSIGNAL: a daemon that hangs up early must be an error, not a SIGPIPE death.
            let n = payload[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .connectionFailed(socketPath, String(cString: strerror(errno)))
            }
            offset += n
        }
        var pending = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw .timedOut(socketPath, timeoutSeconds)
                }
                throw .connectionFailed(socketPath, String(cString: strerror(errno)))
            }
            if n == 0 { return }
            pending.append(contentsOf: chunk[0..<n])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if try !body(line) { return }
            }
            if pending.count > ControlProtocol.maximumLineBytes {
                throw .protocolError("the daemon's answer exceeds \(ControlProtocol.maximumLineBytes) bytes")
            }
        }
    }

    /// Decodes one response line: a failure becomes `.daemon`, a success its result.
    public static func decode<R: Codable & Sendable>(_ line: String, as type: R.Type) throws(ControlClientError) -> R {
        try checkEnvelope(line)
        let data = Data(line.utf8)
        do {
            guard let result = try JSONDecoder.control.decode(ControlResponse<R>.self, from: data).result else {
                throw ControlClientError.protocolError("the daemon's answer has no result")
            }
            return result
        } catch let error as ControlClientError {
            throw error
        } catch {
            throw .protocolError("the daemon's answer does not match this finetunectl: \(error)")
        }
    }

    /// Checks a response line's envelope: the protocol version, and success or the daemon's failure.
    static func checkEnvelope(_ line: String) throws(ControlClientError) {
        let data = Data(line.utf8)
        let header: ControlResponseHeader
        do {
            header = try JSONDecoder.control.decode(ControlResponseHeader.self, from: data)
        } catch {
            throw .protocolError("the daemon's answer is not a control response: \(error)")
        }
        if header.version != ControlProtocol.version {
            throw .protocolError("the daemon speaks protocol version \(header.version), this finetunectl version \(ControlProtocol.version)")
        }
        if !header.ok {
            let failure = header.error ?? ControlFailure(code: "internal", message: "the daemon reported a failure without details")
            // The daemon decides from the peer's credentials: same exit code as a refused connect.
            if failure.code == "permission_denied" { throw .refused(failure.message) }
            throw .daemon(failure)
        }
    }

    private func connect() throws(ControlClientError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connectionFailed(socketPath, String(cString: strerror(errno))) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            close(fd)
            throw .connectionFailed(socketPath, "socket path is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            let code = errno
            close(fd)
            switch code {
            case ENOENT, ECONNREFUSED, ENOTDIR: throw .daemonNotRunning(socketPath)
            case EACCES, EPERM: throw .permissionDenied(socketPath)
            default: throw .connectionFailed(socketPath, String(cString: strerror(code)))
            }
        }
        return fd
    }
}

/// Why a `finetunectl` call failed; each case has its own documented exit code.
public enum ControlClientError: Error, CustomStringConvertible, Sendable {
    case daemonNotRunning(String)
    case permissionDenied(String)
    /// Connected, but the daemon refused the verb to this user.
    case refused(String)
    case connectionFailed(String, String)
    case timedOut(String, Int)
    case protocolError(String)
    case daemon(ControlFailure)

    /// Exit codes, as documented in `finetunectl --help` and the README.
    public var exitCode: Int32 {
        switch self {
        case .daemon: 1
        case .daemonNotRunning: 3
        case .permissionDenied, .refused: 4
        case .connectionFailed, .timedOut: 5
        case .protocolError: 6
        }
    }

    public var description: String {
        switch self {
        case .daemonNotRunning(let path):
            "finetuned is not running (no daemon listens on \(path)); start it with 'systemctl start finetuned'"
        case .permissionDenied(let path):
            "permission denied on \(path): run as root or as a member of the 'finetuned' group"
        case .refused(let why):
            "permission denied: \(why)"
        case .connectionFailed(let path, let reason):
            "cannot talk to finetuned on \(path): \(reason)"
        case .timedOut(let path, let seconds):
            "finetuned did not answer on \(path) within \(seconds) s"
        case .protocolError(let message):
            message
        case .daemon(let failure):
            failure.message
        }
    }
}
