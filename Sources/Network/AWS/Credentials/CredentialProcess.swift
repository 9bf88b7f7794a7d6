import CProcess
import FinetunedText
import FinetunedThreads
import Foundation

/// A profile's `credential_process`: an external helper that prints short-lived keys, as
/// organisations that forbid long-lived keys give a service its identity.
///
/// Run as the AWS CLI runs it, but without a shell: the command line is split into words
/// (quotes group, a backslash escapes), the program found on `PATH`, its standard input
/// empty and its standard error the daemon's (the journal, under systemd). It must answer
/// within `timeout` with the documented JSON, `Version` 1; an `Expiration` makes the keys
/// temporary, and the chain runs the helper again five minutes before they expire.
struct CredentialProcess: Sendable {
    let commandLine: String
    let profile: String
    let environment: [String: String]
    var timeout: Duration = .seconds(60)
    /// Nothing legitimate prints more.
    static let maximumOutput = 64 << 10

    var source: String { "credential_process of profile \(profile)" }

    func run() async throws(Failure) -> ProvidedCredentials {
        let words: [String]
        do { words = try Self.words(commandLine) } catch {
            throw Failure(.credentials, "\(source): \(error.description)")
        }
        guard let program = words.first, let executable = Self.locate(program, path: environment["PATH"]) else {
            throw Failure(
                .credentials,
                "\(source): cannot find the program '\(OneLine.of(words.first ?? "", limit: 200))' (no shell runs it: give a path, or a name on PATH)"
            )
        }
        let worker = SerialWorker(name: "credential-process")
        let run: (output: [UInt8], ending: String, timedOut: Bool)
        do {
            run = try await worker.run { [environment, timeout] in
                try Self.spawnAndRead(executable, words, environment: environment, timeout: timeout)
            }
        } catch {
            throw Failure(.credentials, "\(source): \(error)")
        }
        if run.timedOut {
            throw Failure(.credentials, "\(source) did not answer within \(timeout.components.seconds) s; it was killed")
        }
        guard run.ending == "exited with status 0" else {
            throw Failure(.credentials, "\(source) \(run.ending) (its standard error is in the daemon's log)")
        }
        return try Self.parse(run.output, source: source)
    }

    /// The documented answer: `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}`.
    static func parse(_ output: [UInt8], source: String) throws(Failure) -> ProvidedCredentials {
        struct Answer: Decodable {
            var Version: Int?
            var AccessKeyId: String?
            var SecretAccessKey: String?
            var SessionToken: String?
            var Expiration: String?
        }
        let answer: Answer
        do { answer = try JSONDecoder().decode(Answer.self, from: Data(output)) } catch {
            throw Failure(.credentials, "\(source) printed something that is not a credentials document (expected JSON with Version 1)")
        }
        guard answer.Version == 1 else {
            throw Failure(.credentials, "\(source) answered Version \(answer.Version.map(String.init) ?? "none"); only Version 1 is defined")
        }
        guard let key = answer.AccessKeyId, !key.isEmpty, let secret = answer.SecretAccessKey, !secret.isEmpty else {
            throw Failure(.credentials, "\(source) answered without AccessKeyId and SecretAccessKey")
        }
        var expiration: Date?
        if let text = answer.Expiration {
            guard let date = CredentialTime.parse(text) else {
                throw Failure(.credentials, "\(source) answered an unreadable Expiration '\(OneLine.of(text, limit: 80))'")
            }
            expiration = date
        }
        return ProvidedCredentials(
            credentials: AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: answer.SessionToken),
            expiration: expiration, source: source)
    }

    struct WordsError: Error, CustomStringConvertible {
        var description: String
    }

    /// Splits a command line as a POSIX shell splits words, without expanding anything:
    /// `'…'` and `"…"` group, a backslash escapes the next character outside single quotes.
    static func words(_ line: String) throws(WordsError) -> [String] {
        var words: [String] = [], current = "", inWord = false
        var quote: Character?
        var escaped = false
        for c in line {
            if escaped {
                current.append(c)
                escaped = false
                inWord = true
                continue
            }
            if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"" { escaped = true } else { current.append(c) }
                continue
            }
            switch c {
            case "\\": escaped = true
            case "'", "\"":
                quote = c
                inWord = true
            case " ", "\t", "\n":
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            default:
                current.append(c)
                inWord = true
            }
        }
        if escaped || quote != nil { throw WordsError(description: "the command line ends inside a quote or after a backslash") }
        if inWord { words.append(current) }
        guard !words.isEmpty else { throw WordsError(description: "the command line is empty") }
        return words
    }

    static func locate(_ program: String, path: String?) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !directory.isEmpty {
            let candidate = directory + "/" + program
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Starts the program and reads its standard output to the end; a deadline kills it.
    static func spawnAndRead(_ executable: String, _ arguments: [String], environment: [String: String], timeout: Duration) throws
        -> (output: [UInt8], ending: String, timedOut: Bool)
    {
        var pipe: [Int32] = [-1, -1]
        guard ft_pipe(&pipe) == 0 else { throw WordsError(description: "pipe: \(String(cString: strerror(errno)))") }
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        var pid: pid_t = 0
        let env = environment.map { "\($0.key)=\($0.value)" }
        let error = withCStrings(arguments) { argv in withCStrings(env) { envp in ft_spawn(executable, argv, envp, input, pipe[1], &pid) } }
        close(input)
        close(pipe[1])
        guard error == 0 else {
            close(pipe[0])
            throw WordsError(description: "cannot start \(executable): \(String(cString: strerror(error)))")
        }
        let pidfd = ft_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        let deadline = ContinuousClock.now + timeout
        // Polled against the deadline, so a helper that never answers is killed, and the read
        // ends even if a child of its own (a shell's `sleep`) still holds the pipe open.
        var ready = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
        while true {
            if ContinuousClock.now >= deadline {
                timedOut = true
                if pidfd >= 0 { _ = ft_pidfd_kill(pidfd) } else { kill(pid, SIGKILL) }
                break
            }
            let polled = poll(&ready, 1, 100)
            if polled < 0 { if errno == EINTR { continue } else { break } }
            if polled == 0 { continue }
            let n = read(pipe[0], &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if output.count < maximumOutput { output += buffer[0..<min(n, maximumOutput - output.count)] }
        }
        close(pipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        let ending = signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(signal)"
        return (output, ending, timedOut)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
