import ArgumentParser
import FinetunedConfig
import FinetunedControl
import FinetunedModelWorker
import FinetunedNotification
import FinetunedSystemd
import Logging

/// What `finetuned`'s command line asks for.
public enum DaemonInvocation: Equatable, Sendable {
    case run(DaemonOptions)
    /// `--check-config`: load the configuration, report, exit.
    case checkConfig(configPath: String)
    /// `finetuned model-worker …`: the daemon's own worker process (`ModelWorkerMain`).
    case modelWorker(ModelWorkerOptions)
    /// `-h`/`--help`: print this text and exit 0.
    case help(String)
    case version
}

public struct DaemonOptions: Equatable, Sendable {
    public var configPath = ConfigurationLoader.defaultPath
    public var logTo = LogDestination.automatic
    /// Overrides the configuration's `log_level` when set.
    public var logLevel: Logger.Level?
    public init() {}
}

public struct ModelWorkerOptions: Equatable, Sendable {
    public var modelDirectory: String
    public var logTo: LogDestination
    public var logLevel: Logger.Level

    public init(modelDirectory: String, logTo: LogDestination, logLevel: Logger.Level) {
        self.modelDirectory = modelDirectory
        self.logTo = logTo
        self.logLevel = logLevel
    }
}

/// A command line that asks for something `finetuned` does not do; it exits with 64
/// (`EX_USAGE`) after printing `description`: the problem, the usage, where the help is.
public struct CommandLineError: Error, Equatable, CustomStringConvertible {
    /// The problem alone, as swift-argument-parser words it.
    public let message: String
    public let description: String
    public let exitCode: Int32
}

/// The daemon's command line, read by swift-argument-parser as `finetunectl`'s is.
///
/// The parsing is done here and the result handed back as a `DaemonInvocation`, rather than
/// by `ParsableCommand.main()`, because the daemon must set its process up (heap, executor)
/// before anything else runs and runs its main loop its own way. `finetuned model-worker` is
/// the daemon's own worker process: only as the first argument, with options of its own.
public enum DaemonCommandLine {
    public static func parse(_ arguments: [String]) throws(CommandLineError) -> DaemonInvocation {
        if arguments.first == "model-worker" {
            let parsed: any ParsableCommand
            do { parsed = try WorkerCommand.parseAsRoot(Array(arguments.dropFirst())) } catch {
                return try outcome(of: error, in: WorkerCommand.self)
            }
            // A help request can come back as the parser's own help command.
            guard let worker = parsed as? WorkerCommand else { return .help(WorkerCommand.helpMessage() + "\n") }
            return .modelWorker(ModelWorkerOptions(modelDirectory: worker.modelDirectory, logTo: worker.logTo, logLevel: worker.logLevel))
        }
        let parsed: any ParsableCommand
        do { parsed = try DaemonCommand.parseAsRoot(arguments) } catch {
            return try outcome(of: error, in: DaemonCommand.self)
        }
        guard let daemon = parsed as? DaemonCommand else { return .help(help) }
        if daemon.checkConfig { return .checkConfig(configPath: daemon.config) }
        var options = DaemonOptions()
        options.configPath = daemon.config
        options.logTo = daemon.logTo
        options.logLevel = daemon.logLevel
        return .run(options)
    }

    public static var usage: String { DaemonCommand.usageString() }
    public static var help: String { DaemonCommand.helpMessage() + "\n" }

    /// What the parser's error asks for: help and the version are answers (exit 0), anything
    /// else a refusal with the parser's text.
    private static func outcome(of error: any Error, in command: any ParsableCommand.Type) throws(CommandLineError) -> DaemonInvocation {
        let code = command.exitCode(for: error)
        guard code != .success else {
            let text = command.fullMessage(for: error)
            return text == FinetunedVersion.current ? .version : .help(text + "\n")
        }
        throw CommandLineError(
            message: command.message(for: error), description: command.fullMessage(for: error) + "\n",
            exitCode: code.rawValue)
    }
}

extension LogDestination: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}

struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetuned",
        abstract: "finetuned \(FinetunedVersion.current): watches a drop folder for JSONL training sets and runs model customization workflows.",
        discussion: """
            Normally started by systemd (finetuned.service). SIGHUP reloads the configuration; \
            SIGTERM stops gracefully, leaving running workflows to resume at the next start.
            """,
        version: FinetunedVersion.current)

    @Option(help: ArgumentHelp("The configuration file.", valueName: "file"))
    var config = ConfigurationLoader.defaultPath

    @Flag(help: "Check the configuration file, print what is wrong, and exit (0: valid, 1: invalid).")
    var checkConfig = false

    @Option(help: ArgumentHelp("Where to log: auto (journald under systemd, stderr otherwise), journal or stderr.", valueName: "destination"))
    var logTo = LogDestination.automatic

    @Option(help: ArgumentHelp("Override the configuration's log level.", valueName: "level"))
    var logLevel: Logger.Level?
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetuned model-worker",
        abstract: "Holds the model for finetuned and answers its requests on standard input and output.",
        discussion: "The daemon starts it; it is not a command for people.")

    @Option(help: ArgumentHelp("The folder of the MiniLM model files.", valueName: "folder"))
    var modelDirectory: String

    @Option(help: ArgumentHelp("Where to log: auto, journal or stderr.", valueName: "destination"))
    var logTo: LogDestination

    @Option(help: ArgumentHelp("The log level.", valueName: "level"))
    var logLevel: Logger.Level
}
