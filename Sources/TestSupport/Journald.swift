import Foundation
import Synchronization

/// A journald for tests that read back what the daemon logged.
///
/// No journald runs on these machines by default. The first harness starts
/// `/lib/systemd/systemd-journald` by hand when none answers on the socket; suites run side by
/// side, so harnesses share it, counted, and the last one to stop stops it: a suite that
/// finished earlier never takes the journal from under one still logging.
public final class JournaldHarness: @unchecked Sendable {
    public static let socketPath = "/run/systemd/journal/socket"
    private static let shared = Mutex<(users: Int, process: Process?)>((0, nil))
    private let stopped = Atomic<Bool>(false)

    public init() throws {
        try Self.shared.withLock { state in
            if state.users > 0 || Self.isAnswering() {
                state.users += 1
                return
            }
            let binary = "/lib/systemd/systemd-journald"
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw JournaldHarnessError.unavailable("\(binary) is missing (apt-get install systemd)")
            }
            try FileManager.default.createDirectory(atPath: "/run/systemd/journal", withIntermediateDirectories: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(10)
            while !Self.isAnswering() && Date() < deadline { usleep(20_000) }
            guard Self.isAnswering() else {
                process.terminate()
                process.waitUntilExit()
                throw JournaldHarnessError.unavailable("journald did not start listening on \(Self.socketPath)")
            }
            state = (1, process)
        }
    }

    /// Whether something accepts datagrams on the journal socket.
    static func isAnswering() -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }

    /// Entries matching `journalctl` match expressions (`FIELD=value`), as JSON objects.
    public func entries(matching matches: [String]) throws -> [[String: Any]] {
        let result = try Command.run("/usr/bin/journalctl", ["--no-pager", "-o", "json", "--all"] + matches)
        return result.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits until at least `count` entries match; journald writes asynchronously.
    public func waitForEntries(matching matches: [String], count: Int = 1, timeout: Duration = .seconds(10)) async throws -> [[String: Any]] {
        var found: [[String: Any]] = []
        _ = try await eventually(timeout: timeout, every: .milliseconds(50)) {
            found = try entries(matching: matches)
            return found.count >= count
        }
        return found
    }

    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        Self.shared.withLock { state in
            state.users -= 1
            guard state.users == 0, let process = state.process else { return }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            state.process = nil
        }
    }
}

public enum JournaldHarnessError: Error, CustomStringConvertible {
    case unavailable(String)
    public var description: String {
        switch self {
        case .unavailable(let why): "cannot run a journald for the test: \(why)"
        }
    }
}
