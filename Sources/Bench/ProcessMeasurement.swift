import Foundation

/// Runs a command to completion and reports its wall time and peak RSS, both peers measured
/// the same way.
///
/// Peak RSS is the child's own `VmHWM`, sampled from /proc while it runs: `ru_maxrss` from
/// `wait4` would report the spawning process's size, which a vfork'd child inherits.
struct ProcessMeasurement {
    var seconds: Double
    var peakRSSMegabytes: Double
    var status: Int32

    static func run(_ executable: String, _ arguments: [String]) throws -> ProcessMeasurement {
        var ignored = ""
        return try run(executable, arguments, stdout: &ignored, capture: false)
    }

    /// The same, keeping what the child printed (through a file, so the parent reads
    /// nothing while it samples).
    static func run(_ executable: String, _ arguments: [String], stdout: inout String, capture: Bool = true) throws -> ProcessMeasurement {
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let outputPath = NSTemporaryDirectory() + "finetuned-bench-\(getpid()).out"
        defer {
            if capture {
                stdout = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
                unlink(outputPath)
            }
        }
        posix_spawn_file_actions_addopen(&actions, 1, capture ? outputPath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let start = ContinuousClock.now
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw POSIXError(.init(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        var peakKilobytes = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done < 0 && errno != EINTR { break }
            peakKilobytes = max(peakKilobytes, highWaterMark(pid: pid))
            usleep(2000)
        }
        let elapsed = ContinuousClock.now - start
        return ProcessMeasurement(
            seconds: elapsed.seconds,
            peakRSSMegabytes: Double(peakKilobytes) / 1024,
            status: (status >> 8) & 0xFF)
    }

    /// `VmHWM` of a running process in kB, or 0 once it has exited.
    static func highWaterMark(pid: pid_t) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
}
