import ArgumentParser
import FinetunedConfig
import FinetunedControl
import FinetunedDaemon
import FinetunedSystemd
import Foundation
import Logging

/// The process is set up (heap thresholds, executor) before the command parses anything.
/// `finetuned model-worker` is the daemon's own worker process, not a command for people.
@main
enum FinetunedMain {
    static func main() {
        ProcessSetup.apply()
        if CommandLine.arguments.dropFirst().first == "model-worker" {
            ModelWorkerCommand.main(Array(CommandLine.arguments.dropFirst(2)))
        }
        ProcessSetup.runMain { await FinetunedCommand.main() }
    }
}

/// The process that holds the model for the daemon (`ModelWorkerMain`); the daemon starts it.
struct ModelWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetuned model-worker",
        abstract: "Holds the model for finetuned: answers its requests on standard input and output (started by the daemon).")

    @Option(name: .long, help: "The folder of the MiniLM model files.")
    var modelDirectory: String

    @Option(name: .long, help: "Where to log: journal or stderr.")
    var logTo: LogDestination

    @Option(name: .long, help: "The log level.")
    var logLevel: Logger.Level

    func run() throws {
        logTo.bootstrap(level: logLevel)
        ModelWorkerMain.run(modelDirectory: modelDirectory, logger: Logger(label: "finetuned"))
    }
}

struct FinetunedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetuned",
        abstract: "Watches a drop folder for JSONL training sets and runs model customization workflows.",
        discussion: """
            Normally started by systemd (finetuned.service). SIGHUP reloads the configuration;
            SIGTERM stops gracefully, leaving running workflows to resume at the next start.
            """,
        version: FinetunedVersion.current)

    @Option(name: .long, help: "The configuration file.")
    var config: String = ConfigurationLoader.defaultPath

    @Flag(name: .long, help: "Check the configuration file, print what is wrong, and exit (0: valid, 1: invalid).")
    var checkConfig = false

    @Option(name: .long, help: "Where to log: auto (journald under systemd, stderr otherwise), journal or stderr.")
    var logTo: LogDestination = .automatic

    @Option(name: .long, help: "Override the configuration's log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: Logger.Level?

    func run() async throws {
        let loader = SetupLoader()
        let setup: DaemonSetup
        do {
            setup = try await loader.load(path: config)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        if checkConfig {
            for warning in setup.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            let c = setup.configuration
            print("\(config): OK (\(c.profiles.count) profiles, \(c.backends.count) backends, adapters: \(setup.adapters.names.sorted().joined(separator: ", ")))")
            return
        }
        let level = logLevel ?? Logger.Level(rawValue: setup.configuration.daemon.logLevel) ?? .info
        logTo.bootstrap(level: level)
        let logger = Logger(label: "finetuned")
        do {
            let worker = ModelWorkerLauncher(logTo: logTo.resolved().rawValue, logLevel: level.rawValue)
            try await Daemon(setup: setup, loader: loader, logger: logger, modelWorker: worker).run()
        } catch {
            logger.critical("finetuned failed: \(error)")
            throw ExitCode(1)
        }
    }
}

extension LogDestination: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
