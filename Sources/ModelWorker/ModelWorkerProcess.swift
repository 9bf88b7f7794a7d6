import CProcess
import FinetunedText
import FinetunedThreads
import Foundation
import Synchronization

/// How to start a model worker: this very binary (`/proc/self/exe`, so an upgrade that
/// replaces the file on disk cannot pair the daemon with a worker of another version),
/// `model-worker`, the model's folder and how to log.
public struct ModelWorkerLauncher: Sendable, Equatable {
    public var executable: String
    public var arguments: [String]
    /// The worker's environment before `withheldEnvironment` is taken out; nil: the daemon's.
    public var environment: [String: String]?

    public init(executable: String = "/proc/self/exe", logTo: String, logLevel: String, environment: [String: String]? = nil) {
        self.executable = executable
        arguments = ["model-worker", "--log-to", logTo, "--log-level", logLevel]
        self.environment = environment
    }

    func arguments(modelDirectory: String) -> [String] {
        arguments + ["--model-directory", modelDirectory]
    }
}

/// One running model worker, seen from the daemon: its pipes, and a thread of the daemon's
/// that does the blocking reads and writes, so no event loop ever waits on the worker.
/// Requests go one at a time, in the order asked. Closing its standard input is how the
/// worker is told to end (and how it learns that the daemon died).
final class ModelWorkerProcess: Sendable {
    let pid: pid_t
    /// The worker's pidfd (-1 where the kernel has none), so that killing it can never hit
    /// another process that was given its id after it was reaped.
    private let pidfd: Int32
    private let input: Int32
    private let output: Int32
    private let reader: Mutex<PipeLineReader>
    private let writeLock = Mutex(false)  // true once the input is closed
    private let ending = Mutex<String?>(nil)  // how it ended, once reaped
    private let io: SerialWorker

    /// The variables a worker must not inherit: it is not the service systemd talks to.
    static let withheldEnvironment: Set<String> = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"]

    init(launcher: ModelWorkerLauncher, modelDirectory: String) throws {
        // A worker that dies leaves a pipe without a reader: writing to it must fail, not
        // end the daemon with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        var toWorker: [Int32] = [-1, -1], fromWorker: [Int32] = [-1, -1]
        guard ft_pipe(&toWorker) == 0 else { throw Failure(.modelWorker, "pipe: \(String(cString: strerror(errno)))") }
        guard ft_pipe(&fromWorker) == 0 else {
            let reason = String(cString: strerror(errno))
            close(toWorker[0])
            close(toWorker[1])
            throw Failure(.modelWorker, "pipe: \(reason)")
        }
        let arguments = [launcher.executable] + launcher.arguments(modelDirectory: modelDirectory)
        let environment = (launcher.environment ?? ProcessInfo.processInfo.environment).filter { !Self.withheldEnvironment.contains($0.key) }.map {
            "\($0.key)=\($0.value)"
        }
        var pid: pid_t = 0
        let error = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                ft_spawn(launcher.executable, argv, envp, toWorker[0], fromWorker[1], &pid)
            }
        }
        close(toWorker[0])
        close(fromWorker[1])
        guard error == 0 else {
            close(toWorker[1])
            close(fromWorker[0])
            throw Failure(.modelWorker, "cannot start the model worker \(launcher.executable): \(String(cString: strerror(error)))")
        }
        self.pid = pid
        pidfd = ft_pidfd_open(pid)
        input = toWorker[1]
        output = fromWorker[0]
        reader = Mutex(PipeLineReader(descriptor: fromWorker[0]))
        io = SerialWorker(name: "model-worker-io")
    }

    deinit {
        closeInput()
        close(output)
        if pidfd >= 0 { close(pidfd) }
    }

    /// Kills the worker: one busy with a request does not read its input, so this is how a
    /// caller that gave up (a deadline passed) gets its thread and the worker's memory back.
    /// The call in progress then fails with how the worker ended.
    func kill() {
        if pidfd >= 0 { _ = ft_pidfd_kill(pidfd) }
    }

    /// Sends `request` and waits for its reply. A worker that ends without replying is an
    /// error naming how it ended.
    func call(_ request: ModelWorkerRequest) async throws -> ModelWorkerReply {
        try await io.run {
            do {
                try self.send(request)
            } catch {
                // Only a worker that has gone leaves its input without a reader.
                self.closeInput()
                throw WorkerEnded(self.reap())
            }
            guard let reply = try self.receive() else { throw WorkerEnded(self.reap()) }
            return reply
        }
    }

    /// Runs `body` on the worker's I/O thread after the calls before it: a conversation of
    /// several messages (training) that nothing may interleave with.
    func converse<T: Sendable>(_ body: @escaping @Sendable (ModelWorkerProcess) throws -> T) async throws -> T {
        try await io.run { try body(self) }
    }

    /// Writes one request; safe from any thread (lines are written whole, under a lock).
    func send(_ request: ModelWorkerRequest) throws {
        let line = try ModelWorkerCoding.line(request)
        try writeLock.withLock { closed in
            guard !closed else { throw Failure(.modelWorker, "the model worker's input is closed") }
            try writeAll(input, line)
        }
    }

    /// The next reply; nil once the worker has ended. Only from the I/O thread.
    func receive() throws -> ModelWorkerReply? {
        guard let line = try reader.withLock({ try $0.next() }) else { return nil }
        return try ModelWorkerCoding.decode(ModelWorkerReply.self, from: line)
    }

    /// Tells the worker to end once the calls already asked of it are answered, and waits for
    /// it: the input closes on the I/O thread, in turn, so a request queued when the engine
    /// went idle is still sent and answered.
    func finish() async -> String {
        (try? await io.run {
            self.closeInput()
            return self.reap()
        }) ?? "ended"
    }

    private func closeInput() {
        writeLock.withLock { closed in
            if !closed { close(input) }
            closed = true
        }
    }

    /// Waits for the worker's end and says how it went ("exited with status 0", "killed by
    /// signal 9"). The worker ends when its input closes, so this returns promptly then.
    func reap() -> String {
        ending.withLock { ending in
            if let ending { return ending }
            var status: Int32 = 0
            var how: String
            while true {
                if waitpid(pid, &status, 0) >= 0 {
                    let signal = status & 0x7f
                    how =
                        signal == 0
                        ? "exited with status \((status >> 8) & 0xff)"
                        : "was killed by signal \(signal)\(status & 0x80 != 0 ? ", dumping core" : "")"
                    break
                }
                if errno != EINTR {
                    how = "ended (\(String(cString: strerror(errno))))"
                    break
                }
            }
            ending = how
            return how
        }
    }
}

/// The worker ended before it replied.
struct WorkerEnded: Error, CustomStringConvertible {
    var how: String
    init(_ how: String) { self.how = how }
    var description: String { "the model worker \(how) before it replied" }
}

private func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
