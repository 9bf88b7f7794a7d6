import FinetunedControl
import FinetunedTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// The control socket protocol, with the server run in-process on a test handler.
@Suite("Control socket protocol")
struct ControlProtocolTests {
    /// Echoes the verb, reports the peer, and streams three lines for `count`.
    struct EchoHandler: ControlRequestHandler {
        struct Echo: Codable, Sendable {
            var verb: String
            var arguments: [String: String]
            var uid: UInt32
            var pid: Int32
        }
        func handle(_ request: ControlRequest, peer: ControlPeer) async -> ControlAnswer {
            switch request.verb {
            case "count":
                return .stream(
                    AsyncStream { continuation in
                        for i in 1...3 { continuation.yield(ControlAnswer.encode(ControlResponse(result: ["n": i]))) }
                        continuation.finish()
                    })
            case "fail":
                return .failure(ControlFailure(code: "not_found", message: "no such workflow"))
            default:
                return .result(Echo(verb: request.verb, arguments: request.arguments, uid: peer.uid, pid: peer.pid))
            }
        }
    }

    /// Runs a control server on a private socket for the duration of `body`.
    func withServer(_ body: @Sendable (String) async throws -> Void) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("control.sock")
        let (ready, readyContinuation) = AsyncStream<Void>.makeStream()
        let server = ControlServer(
            socketPath: path, group: nil, handler: EchoHandler(), logger: Logger(label: "test"),
            ready: { readyContinuation.yield() })
        let group = ServiceGroup(services: [server], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for await _ in ready { break }
            try await body(path)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file must be removed at shutdown")
    }

    @Test("a request gets its verb's result, and the server knows the peer's uid and pid")
    func roundTrip() async throws {
        try await withServer { path in
            let echo = try await blocking {
                try ControlClient(socketPath: path).call(
                    ControlRequest(verb: "show", arguments: ["id": "wf-1"]), as: EchoHandler.Echo.self)
            }
            #expect(echo.verb == "show")
            #expect(echo.arguments == ["id": "wf-1"])
            #expect(echo.uid == getuid())
            #expect(echo.pid == getpid())
        }
    }

    @Test("the socket is created with mode 0666: the daemon decides from the peer's credentials, not the mode")
    func socketMode() async throws {
        try await withServer { path in
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o666)
        }
    }

    @Test("a streaming verb delivers every line in order")
    func streaming() async throws {
        try await withServer { path in
            let numbers = try await blocking {
                var numbers: [Int] = []
                try ControlClient(socketPath: path).stream(ControlRequest(verb: "count")) { line throws(ControlClientError) in
                    numbers.append(try ControlClient.decode(line, as: [String: Int].self)["n"] ?? -1)
                    return true
                }
                return numbers
            }
            #expect(numbers == [1, 2, 3])
        }
    }

    @Test("a failure reaches the client with its code and message")
    func failures() async throws {
        try await withServer { path in
            await #expect {
                try await blocking { try ControlClient(socketPath: path).call(ControlRequest(verb: "fail"), as: EmptyResult.self) }
            } throws: { error in
                guard case .daemon(let failure) = error as? ControlClientError else { return false }
                return failure == ControlFailure(code: "not_found", message: "no such workflow")
            }
        }
    }

    @Test("another protocol version is refused with unsupported_version")
    func versionMismatch() async throws {
        try await withServer { path in
            await #expect {
                try await blocking { try ControlClient(socketPath: path).call(ControlRequest(verb: "show", version: 2), as: EmptyResult.self) }
            } throws: { error in
                guard case .daemon(let failure) = error as? ControlClientError else { return false }
                return failure.code == "unsupported_version" && (error as! ControlClientError).exitCode == 1
            }
        }
    }

    @Test("garbage and oversized requests are answered or dropped without harming the server")
    func hostileInput() async throws {
        try await withServer { path in
            let garbage = try await blocking { try RawSocket.exchange(path: path, send: Array("not json\n".utf8)) }
            #expect(garbage.contains(#""code":"bad_request""#))
            // 5 MiB without a newline exceeds the 4 MiB frame limit: the connection is closed.
            let huge = [UInt8](repeating: UInt8(ascii: "x"), count: 5 << 20)
            _ = try? await blocking { try RawSocket.exchange(path: path, send: huge) }
            let echo = try await blocking {
                try ControlClient(socketPath: path).call(ControlRequest(verb: "still-alive"), as: EchoHandler.Echo.self)
            }
            #expect(echo.verb == "still-alive")
        }
    }

    @Test("no daemon: a clear message and exit code 3")
    func notRunning() throws {
        let result = try Command.run(BuiltProducts.executable("finetunectl"), ["status", "--socket", "/nonexistent/control.sock"])
        #expect(result.status == 3)
        #expect(
            result.stderr
                == "finetunectl: finetuned is not running (no daemon listens on /nonexistent/control.sock); start it with 'systemctl start finetuned'\n"
        )
    }
}

/// `finetunectl` against the real daemon, as people use it.
@Suite("finetunectl")
struct FinetunectlTests {
    @Test("status prints version, uptime, configuration, directories and counts")
    func humanStatus() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        let result = try await daemon.ctl(["status"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "finetuned \(FinetunedVersion.current) (pid \(daemon.pid), protocol 1)")
        #expect(lines.contains { $0.hasPrefix("  uptime:        ") && $0.hasSuffix("s") })
        #expect(
            lines.contains(
                "  configuration: \(daemon.configPath) (loaded \(lines.first { $0.contains("loaded") }!.split(separator: "(loaded ")[1].prefix(20)); 0 reloads, 0 refused)"
            ))
        #expect(lines.contains("  inbox:         \(daemon.directory.file("state/inbox"))"))
        #expect(lines.contains("  adapters:      \(daemon.directory.file("adapters"))"))
        #expect(lines.contains("  workflows:     0 running, 0 waiting, 0 succeeded, 0 failed, 0 rejected, 0 cancelled"))
    }

    @Test("a user outside the daemon's group is refused with exit code 4")
    func permissionDenied() async throws {
        let daemon = try DaemonHarness()
        defer { daemon.tearDown() }
        try daemon.start()
        #expect(await daemon.waitForReady() != nil)
        // Let everyone reach the socket: the daemon refuses from the peer's credentials.
        chmod(daemon.directory.path, 0o755)
        chmod(daemon.directory.file("run"), 0o755)
        let ctl = daemon.directory.file("finetunectl")
        try BuiltProducts.copyExecutable("finetunectl", to: ctl)
        let result = try await blocking {
            try BuiltProducts.runRetryingBusy(
                "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", ctl, "status", "--socket", daemon.socketPath])
        }
        #expect(result.status == 4, "\(result.stderr)")
        #expect(result.stderr == "finetunectl: permission denied: uid 65534 is neither in the control group nor in the submit group\n")
    }

    @Test("help documents the exit codes; shell completions are generated")
    func helpAndCompletions() throws {
        let help = try Command.run(BuiltProducts.executable("finetunectl"), ["--help"])
        #expect(help.stdout.contains("3 the daemon is not running"))
        for shell in ["bash", "zsh", "fish"] {
            let script = try Command.run(BuiltProducts.executable("finetunectl"), ["--generate-completion-script", shell])
            #expect(script.status == 0)
            #expect(script.stdout.contains("status") && script.stdout.contains("reload"))
        }
        let usage = try Command.run(BuiltProducts.executable("finetunectl"), ["status", "--bogus"])
        #expect(usage.status == 2)
    }
}

/// Sends raw bytes on a Unix socket and reads until the peer closes, for hostile-input tests.
enum RawSocket {
    static func exchange(path: String, send bytes: [UInt8]) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
            raw[path.utf8.count] = 0
        }
        // A safety net against a hung server, not a speed requirement: generous for a loaded machine.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += n
        }
        shutdown(fd, Int32(SHUT_WR))
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
