import FinetunedControl
import FinetunedWorkflow
import Foundation

/// Runs the real `finetuned` executable in a private directory, as systemd would: with a
/// `NOTIFY_SOCKET` the test reads, optionally a `WATCHDOG_USEC`, its log in a file.
public final class DaemonHarness: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let configPath: String
    public let notify: NotifySocketListener
    public var socketPath: String { directory.file("run/\(ControlProtocol.socketName)") }
    public var logPath: String { directory.file("daemon.log") }
    private var process: Process?

    /// A small valid configuration whose directories all live under `dir`. Its profiles run
    /// on a scripted backend whose jobs train for ever, so accepted workflows stay live (in
    /// `training`) while the inbox tests look at them.
    public static func configuration(in dir: TemporaryDirectory, profiles: [String] = ["rehearsal"]) -> String {
        _ = try? dir.write("eval.jsonl", #"{"prompt": "Summarize: a held-out document.", "reference": "A summary."}"# + "\n")
        var text = """
            [daemon]
            runtime_directory = "\(dir.file("run"))"
            control_group = ""
            shutdown_timeout_seconds = 5

            [paths]
            state = "\(dir.file("state"))"
            models = "\(dir.file("models"))"

            [adapters]
            directories = ["\(dir.file("adapters"))"]

            [backends.local]
            kind = "local"

            [backends.slow]
            kind = "scripted"
            state_file = "\(dir.file("scripted-backend.json"))"
            job_polls = 1000000

            [engine]
            job_poll_seconds = 3600
            max_poll_seconds = 3600

            """
        for profile in profiles {
            text += """

                [profiles.\(profile)]
                adapter = "local"
                base_model = "local.minilm-extractive-v1"
                backend = "slow"
                evaluation_set = "\(dir.file("eval.jsonl"))"

                """
        }
        return text
    }

    /// A profile `summaries` on the local backend with the repository's example data: real
    /// training (5 epochs), 30 held-out prompts, BERTScore with the machine's model, mail to a
    /// maildir; polls quickly. The end-to-end local tests and the benchmark run it.
    public static func localRehearsal(in dir: TemporaryDirectory) -> String {
        writeExamples("summaries-eval.jsonl", as: "summaries-eval.jsonl", in: dir) { $0.prefix(30) }
        let text =
            scoredAndMailed(in: dir) + """

                [profiles.summaries]
                adapter = "local"
                base_model = "local.minilm-extractive-v1"
                backend = "local"
                evaluation_set = "\(dir.file("summaries-eval.jsonl"))"

                [profiles.summaries.hyperparameters]
                epochCount = 5
                batchSize = 16
                earlyStoppingPatience = 5
                """
        return Self.usingSharedModel(Self.polling(text, every: 0.2, maximum: 1), in: dir)
    }

    /// `configuration(in:)` without profiles, scoring with at least 20 prompts and 2,000
    /// resamples, notifying into `dir/mail` (a Maildir): what the end-to-end workflows share.
    public static func scoredAndMailed(in dir: TemporaryDirectory) -> String {
        configuration(in: dir, profiles: []) + """

            [evaluation]
            min_prompts = 20
            resamples = 2000

            [notify.maildir]
            path = "\(dir.file("mail"))"

            """
    }

    /// Writes the records `pick` chooses from the repository's `examples/<source>` into `dir` as `name`.
    public static func writeExamples(
        _ source: String, as name: String, in dir: TemporaryDirectory,
        pick: ([Substring]) -> ArraySlice<Substring>
    ) {
        let path = BuiltProducts.packageRoot.appendingPathComponent("examples/" + source).path
        let lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
        _ = try? dir.write(name, pick(lines).joined(separator: "\n") + "\n")
    }

    /// `configuration(in:)` text pointed at the machine's BERT model (scripts/fetch-model)
    /// instead of the harness's empty model folder.
    public static func usingSharedModel(_ text: String, in dir: TemporaryDirectory) -> String {
        text.replacingOccurrences(
            of: "models = \"\(dir.file("models"))\"",
            with: "models = \"\(SharedTestData.modelDirectory.deletingLastPathComponent().path)\"")
    }

    /// `configuration(in:)` text with jobs and throughputs polled every `every` seconds, at most `maximum` apart.
    public static func polling(_ text: String, every: Double, maximum: Double) -> String {
        text.replacingOccurrences(of: "job_poll_seconds = 3600", with: "job_poll_seconds = \(every)\nthroughput_poll_seconds = \(every)")
            .replacingOccurrences(of: "max_poll_seconds = 3600", with: "max_poll_seconds = \(maximum)")
    }

    /// - Parameter adapters: the built adapter plugins to copy into the adapter directory.
    public init(configuration: ((TemporaryDirectory) -> String)? = nil, adapters: [String] = BuiltProducts.adapterNames) throws {
        directory = try TemporaryDirectory(prefix: "ftd")
        configPath = try directory.write(
            "finetuned.toml", configuration?(directory) ?? Self.configuration(in: directory))
        notify = try NotifySocketListener(path: directory.file("notify.sock"))
        try BuiltProducts.installAdapters(adapters, into: directory.file("adapters"))
    }

    /// Starts the daemon; `environment` adds to (and overrides) the test's own. `launcher` is a
    /// command that ends by exec'ing its arguments (`unshare`, `setpriv`), so the process
    /// started is still the daemon, with its pid.
    public func start(arguments: [String] = [], environment: [String: String] = [:], launcher: [String] = []) throws {
        let process = Process()
        let daemon = [BuiltProducts.executable("finetuned"), "--config", configPath] + arguments
        let command = launcher + daemon
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = notify.path
        env["JOURNAL_STREAM"] = nil
        env.merge(environment) { $1 }
        process.environment = env
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    /// Waits for `READY=1`; returns that message, or nil (with the log in the failure).
    public func waitForReady(timeout: Duration = .seconds(20)) async -> NotifySocketListener.Message? {
        await notify.next(where: { $0.assignments["READY"] == "1" }, timeout: timeout)
    }

    public var pid: Int32 { process?.processIdentifier ?? 0 }

    /// The daemon's threads that were switched to during `period`, by name, with how many
    /// times: an idle daemon's threads all sleep, so none should be. A thread that starts or
    /// ends meanwhile counts only if it is in both samples.
    public func wakeups(over period: Duration) async -> [String: Int] {
        func sample() -> [String: (name: String, switches: Int)] {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            var out: [String: (String, Int)] = [:]
            for task in tasks {
                let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
                let fields = status.split(separator: "\n")
                let name = fields.first { $0.hasPrefix("Name:") }.map { $0.dropFirst(5).trimmingCharacters(in: .whitespaces) } ?? task
                let switches = fields.filter { $0.hasPrefix("voluntary_ctxt_switches") || $0.hasPrefix("nonvoluntary_ctxt_switches") }
                    .compactMap { Int($0.split(separator: "\t").last ?? "") }.reduce(0, +)
                out[task] = (name, switches)
            }
            return out
        }
        let before = sample()
        try? await Task.sleep(for: period)
        var woke: [String: Int] = [:]
        for (task, now) in sample() {
            if let earlier = before[task], now.switches > earlier.switches { woke["\(now.name) (\(task))"] = now.switches - earlier.switches }
        }
        return woke
    }

    /// The files the daemon has mapped now (its `/proc/PID/maps`), each once.
    public func mappedFiles() -> Set<String> {
        // procfs reports size 0: read to the end, not by the reported size.
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/maps"), let data = try? handle.readToEnd() else { return [] }
        return Set(
            String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
                line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true).dropFirst(5).first
                    .map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.hasPrefix("/") ? $0 : nil }
            })
    }
    /// The daemon's child processes (its model workers), zombies included: process id,
    /// state letter and name, from /proc/*/stat.
    public func children() -> [(pid: Int32, state: String, name: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> (Int32, String, String)? in
            guard let child = Int32(entry),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/stat")
            else { return nil }
            // "pid (comm) state ppid ...": the name may hold spaces and parentheses.
            let text = String(decoding: data, as: UTF8.self)
            guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
            let fields = text[text.index(after: close)...].split(separator: " ")
            guard fields.count > 1, Int32(fields[1]) == pid else { return nil }
            return (child, String(fields[0]), String(text[text.index(after: open)..<close]))
        }
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    public func signal(_ signal: Int32) {
        if let process, process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the daemon to exit; returns its exit status, or nil if it is still running.
    public func waitForExit(timeout: Duration = .seconds(15)) async -> Int32? {
        guard let process else { return nil }
        _ = await eventually(timeout: timeout) { !process.isRunning }
        return process.isRunning ? nil : process.terminationStatus
    }

    public var inbox: String { directory.file("state/inbox") }
    public var rejected: String { directory.file("state/rejected") }
    public var spool: String { directory.file("state/spool") }
    public var archive: String { directory.file("state/archive") }
    public var databasePath: String { directory.file("state/finetuned.sqlite") }

    /// Waits until at least `count` workflows are in `stages` (and named `dropName`, if given);
    /// returns them. Reads the daemon's own database file, as an operator's tool could.
    public func waitForWorkflows(
        count: Int = 1, in stages: Set<WorkflowStage> = WorkflowStage.accepted.union([.rejected]), dropName: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> [WorkflowRecord] {
        let store = try SQLiteWorkflowStore(path: databasePath)
        let deadline = ContinuousClock.now + timeout
        var found: [WorkflowRecord] = []
        repeat {
            found = try await store.workflows(in: stages).filter { dropName == nil || $0.dropName == dropName }
            if found.count >= count { break }
            try await Task.sleep(for: .milliseconds(20))
        } while ContinuousClock.now < deadline
        return found
    }

    /// Drops a file the safe way: written next to the inbox, then renamed into the profile folder.
    @discardableResult
    public func drop(_ contents: String, as name: String, profile: String = "rehearsal") throws -> String {
        try drop(bytes: Array(contents.utf8), as: name, profile: profile)
    }

    @discardableResult
    public func drop(bytes: [UInt8], as name: String, profile: String = "rehearsal") throws -> String {
        let staging = directory.file("staging")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let temporary = staging + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        let target = inbox + "/" + profile + "/" + name
        guard rename(temporary, target) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        return target
    }

    /// Runs `finetunectl` against this daemon's socket.
    public func ctl(_ arguments: [String]) async throws -> CommandResult {
        let full = arguments.isEmpty ? [] : [arguments[0], "--socket", socketPath] + arguments.dropFirst()
        return try await blocking { try Command.run(BuiltProducts.executable("finetunectl"), full) }
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Kills the daemon if it still runs and removes its directory.
    public func tearDown() {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        notify.shutdown()
        directory.remove()
    }
}
