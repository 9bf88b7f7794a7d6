import ArgumentParser
import FinetunedConfig
import FinetunedControl
import FinetunedDaemon
import FinetunedSystemd
import Foundation
import Logging

@main
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
        let load: DaemonRuntime.ConfigurationSource = { path throws(ConfigurationError) in
            try ConfigurationLoader.load(path: path)
        }
        let configuration: DaemonConfiguration
        do {
            configuration = try load(config)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        if checkConfig {
            print("\(config): OK (\(configuration.profiles.count) profiles, \(configuration.backends.count) backends)")
            return
        }
        let level = logLevel ?? Logger.Level(rawValue: configuration.daemon.logLevel) ?? .info
        logTo.bootstrap(level: level)
        let logger = Logger(label: "finetuned")
        do {
            try await Daemon(configuration: configuration, logger: logger, loadConfiguration: load).run()
        } catch {
            logger.critical("finetuned failed: \(error)")
            throw ExitCode(1)
        }
    }
}

extension LogDestination: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
