import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Serves the control socket (`<runtime directory>/control.sock`) for `finetunectl`.
///
/// Who may do what is decided per request from the peer's `SO_PEERCRED` credentials (see
/// `ControlAccess`), not by the file mode: the socket is 0666 so that submitters, who may see
/// and cancel their own workflows, can connect at all. Each connection carries one request; a
/// failure in one connection never touches the others or the daemon.
public struct ControlServer: Service, CustomStringConvertible {
    /// The name the service group logs it by; interpolating the struct itself would reflect over
    /// every field (configuration included).
    public var description: String { "control-socket" }

    let socketPath: String
    let group: String?
    let handler: any ControlRequestHandler
    let logger: Logger
    let ready: @Sendable () async -> Void

    /// - Parameters:
    ///   - group: the group given access to the socket (nil: the daemon's own group).
    ///   - ready: called once the socket accepts connections (the daemon's readiness depends on it).
    public init(
        socketPath: String, group: String?, handler: any ControlRequestHandler, logger: Logger,
        ready: @escaping @Sendable () async -> Void = {}
    ) {
        self.socketPath = socketPath
        self.group = group
        self.handler = handler
        self.logger = logger
        self.ready = ready
    }

    public func run() async throws {
        // Half-closure lets a client send its request, shut its side, and still read the answer.
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineFrameDecoder(maximumLength: ControlProtocol.maximumLineBytes)))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        defer { unlink(socketPath) }
        try restrictSocketAccess()
        logger.info("control socket listening", metadata: ["socket": "\(socketPath)"])
        await ready()

        try await withGracefulShutdownHandler {
            try await server.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { tasks in
                    for try await connection in connections {
                        tasks.addTask { await self.serve(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private func restrictSocketAccess() throws {
        if let group {
            guard let entry = getgrnam(group) else {
                logger.warning("control group does not exist; socket left to the daemon's own group", metadata: ["group": "\(group)"])
                chmod(socketPath, 0o666)
                return
            }
            // Under systemd the daemon runs with that group already, and the sandbox forbids
            // chown (SystemCallFilter=~@privileged): only change what needs changing.
            var info = stat()
            let already = stat(socketPath, &info) == 0 && info.st_gid == entry.pointee.gr_gid
            if !already, chown(socketPath, getuid(), entry.pointee.gr_gid) != 0 {
                logger.warning("cannot hand the control socket to its group", metadata: ["group": "\(group)", "errno": "\(errno)"])
            }
        }
        guard chmod(socketPath, 0o666) == 0 else {
            throw ControlSocketError.cannotSetPermissions(path: socketPath, errno: errno)
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let peer = await Self.peer(of: connection.channel)
        do {
            try await connection.executeThenClose { inbound, outbound in
                var lines = inbound.makeAsyncIterator()
                guard let frame = try await lines.next() else { return }
                let answer: ControlAnswer
                do {
                    let request = try JSONDecoder.control.decode(ControlRequest.self, from: Data(frame.readableBytesView))
                    if request.version != ControlProtocol.version {
                        answer = .failure(.unsupportedVersion(request.version))
                    } else {
                        answer = await handler.handle(request, peer: peer)
                    }
                } catch {
                    answer = .failure(.badRequest("the request is not a valid control request: \(error)"))
                }
                switch answer {
                case .line(let line):
                    try await outbound.write(ByteBuffer(string: line + "\n"))
                case .stream(let stream):
                    for await line in stream {
                        try await outbound.write(ByteBuffer(string: line + "\n"))
                    }
                }
            }
        } catch {
            logger.debug("control connection ended with an error", metadata: ["error": "\(error)", "peer": "\(peer)"])
        }
    }

    private static func peer(of channel: Channel) async -> ControlPeer {
        // `struct ucred` (pid, uid, gid) is hidden behind _GNU_SOURCE in the Glibc module;
        // a tuple of the same three 32-bit fields has the same layout.
        guard let provider = channel as? SocketOptionProvider,
            let credentials: (Int32, UInt32, UInt32) = try? await provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
            ).get()
        else { return ControlPeer(pid: 0, uid: UInt32.max, gid: UInt32.max) }
        return ControlPeer(pid: credentials.0, uid: credentials.1, gid: credentials.2)
    }
}

public enum ControlSocketError: Error, CustomStringConvertible {
    case cannotSetPermissions(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .cannotSetPermissions(let path, let code):
            "cannot set the permissions of the control socket \(path): \(String(cString: strerror(code)))"
        }
    }
}
