import FinetunedControl
import FinetunedDaemon
import FinetunedTestSupport
import Foundation
import Logging
import Testing

/// `finetuned`'s own command-line parsing, then the real executable's answers to it.
@Suite("The daemon's command line")
struct DaemonCommandLineTests {
    private func parse(_ arguments: String...) throws(CommandLineError) -> DaemonInvocation {
        try DaemonCommandLine.parse(arguments)
    }

    private func refusal(_ arguments: String...) -> String? {
        do {
            _ = try DaemonCommandLine.parse(arguments)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("no arguments run the daemon on the default configuration, logging where systemd says")
    func defaults() throws {
        #expect(try parse() == .run(DaemonOptions()))
        let options = DaemonOptions()
        #expect(options.configPath == "/etc/finetuned/finetuned.toml")
        #expect(options.logTo == .automatic)
        #expect(options.logLevel == nil)
    }

    @Test("values come as the next argument or after '='; a later option overrides an earlier one")
    func values() throws {
        var expected = DaemonOptions()
        expected.configPath = "/srv/b.toml"
        expected.logTo = .journal
        expected.logLevel = .debug
        #expect(try parse("--config", "/srv/a.toml", "--log-to=journal", "--log-level", "debug", "--config=/srv/b.toml") == .run(expected))
        // A value may itself contain '=' or, given after '=', start with a dash.
        var odd = DaemonOptions()
        odd.configPath = "-a=b.toml"
        #expect(try parse("--config=-a=b.toml") == .run(odd))
    }

    @Test("--check-config checks the file it is given, wherever the flag stands")
    func checkConfig() throws {
        #expect(try parse("--check-config") == .checkConfig(configPath: "/etc/finetuned/finetuned.toml"))
        #expect(try parse("--check-config", "--config", "x.toml") == .checkConfig(configPath: "x.toml"))
        #expect(try parse("--config", "x.toml", "--check-config") == .checkConfig(configPath: "x.toml"))
    }

    @Test("--help wins over everything else on the line, even a mistake; --version over running")
    func helpAndVersion() throws {
        #expect(try parse("--help") == .help(DaemonCommandLine.help))
        #expect(try parse("--bogus", "-h") == .help(DaemonCommandLine.help))
        #expect(try parse("--config", "a.toml", "--version") == .version)
        for option in ["--config <file>", "--check-config", "--log-to <destination>", "--log-level <level>", "--version", "-h, --help"] {
            #expect(DaemonCommandLine.help.contains("\n  \(option) "), "the help does not list \(option)")
        }
        #expect(DaemonCommandLine.help.contains(FinetunedVersion.current))
    }

    @Test("every mistake is refused with what was wrong, naming the option and the choices")
    func mistakes() {
        #expect(refusal("--bogus") == "Unknown option '--bogus'")
        #expect(refusal("--bogus=1") == "Unknown option '--bogus'")
        #expect(refusal("config.toml") == "Unexpected argument 'config.toml'")
        #expect(refusal("-c", "x") == "Unknown option '-c'")
        #expect(refusal("--config") == "Missing value for '--config <file>'")
        #expect(refusal("--config", "--check-config") == "Missing value for '--config <file>'")
        #expect(refusal("--check-config=yes") == "The option '--check-config' does not take any value, but 'yes' was specified.")
        #expect(
            refusal("--log-to", "syslog")
                == "The value 'syslog' is invalid for '--log-to <destination>'. Please provide one of 'auto', 'journal' or 'stderr'.")
        let level = refusal("--log-level=chatty") ?? ""
        #expect(level.hasPrefix("The value 'chatty' is invalid for '--log-level <level>'"), "\(level)")
        for name in Logger.Level.allCases.map(\.rawValue) { #expect(level.contains("- \(name)"), "\(level)") }
    }

    @Test("model-worker needs its three options and refuses the daemon's")
    func modelWorker() throws {
        let worker = try parse("model-worker", "--log-to", "stderr", "--model-directory", "/m", "--log-level=info")
        #expect(worker == .modelWorker(ModelWorkerOptions(modelDirectory: "/m", logTo: .stderr, logLevel: .info)))
        #expect(refusal("model-worker", "--log-to", "stderr") == "Missing expected argument '--model-directory <folder>'")
        #expect(
            refusal("model-worker", "--log-to", "stderr", "--model-directory", "/m", "--log-level=info", "--config", "a.toml")
                == "Unknown option '--config'")
        // Only as the first argument: elsewhere it is an ordinary stray argument.
        #expect(refusal("--log-to", "stderr", "model-worker") == "Unexpected argument 'model-worker'")
        guard case .help(let text) = try parse("model-worker", "--help") else {
            Issue.record("model-worker --help is not help")
            return
        }
        #expect(text.contains("--model-directory <folder>"))
    }

    @Test("the executable: help and version exit 0 on stdout, a mistake exits 64 with the usage on stderr")
    func executable() throws {
        let finetuned = BuiltProducts.executable("finetuned")
        let help = try Command.run(finetuned, ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout == DaemonCommandLine.help)
        #expect(help.stderr.isEmpty)

        let version = try Command.run(finetuned, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == FinetunedVersion.current + "\n")

        let wrong = try Command.run(finetuned, ["--log-level", "chatty"])
        #expect(wrong.status == 64)
        #expect(wrong.stdout.isEmpty)
        #expect(wrong.stderr.hasPrefix("Error: The value 'chatty' is invalid for '--log-level <level>'"), "\(wrong.stderr)")
        #expect(wrong.stderr.contains(DaemonCommandLine.usage))
        #expect(wrong.stderr.hasSuffix("See 'finetuned --help' for more information.\n"), "\(wrong.stderr)")

        let worker = try Command.run(finetuned, ["model-worker", "--log-to", "stderr"])
        #expect(worker.status == 64)
        #expect(worker.stderr.hasSuffix("See 'finetuned model-worker --help' for more information.\n"), "\(worker.stderr)")
    }
}
