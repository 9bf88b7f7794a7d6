import FinetunedConfig
import FinetunedControl
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
/// (`EX_USAGE`) after saying what was wrong and how it is used.
public struct CommandLineError: Error, Equatable, CustomStringConvertible {
    public let message: String
    /// The command it was for (`finetuned`, `finetuned model-worker`) and that command's usage.
    public let command: String
    public let usage: String
    /// What is printed on stderr: the problem, the usage, where the help is.
    public var description: String { "finetuned: \(message)\n\(usage)\nSee '\(command) --help'.\n" }
}

/// Parses the daemon's command line: a handful of long options, by hand.
///
/// Not swift-argument-parser (which `finetunectl` uses): it finds a command's options by
/// reflecting over the command's properties, and the runtime looks reflection metadata up by
/// scanning it in every loaded library, so parsing four options kept those pages resident in
/// a daemon that then runs for months, and in each model worker (with the service group's
/// default descriptions of the services, which reflect too: about 0.5 MB of an idle daemon).
public enum DaemonCommandLine {
    public static func parse(_ arguments: [String]) throws(CommandLineError) -> DaemonInvocation {
        if arguments.first == "model-worker" {
            return try parseModelWorker(Array(arguments.dropFirst()))
        }
        if wantsHelp(arguments) { return .help(help) }
        var options = DaemonOptions()
        var checkConfig = false
        var version = false
        try daemon.scan(arguments) { option, value throws(CommandLineError) in
            switch option.name {
            case "config": options.configPath = value!
            case "check-config": checkConfig = true
            case "log-to": options.logTo = try daemon.destination(value!, for: option)
            case "log-level": options.logLevel = try daemon.level(value!, for: option)
            case "version": version = true
            default: preconditionFailure("an option without a case: --\(option.name)")
            }
        }
        if version { return .version }
        return checkConfig ? .checkConfig(configPath: options.configPath) : .run(options)
    }

    public static var usage: String { daemon.usage }

    public static var help: String {
        """
        finetuned \(FinetunedVersion.current): watches a drop folder for JSONL training sets and runs model
        customization workflows.

        Normally started by systemd (finetuned.service). SIGHUP reloads the configuration;
        SIGTERM stops gracefully, leaving running workflows to resume at the next start.

        \(daemon.usage)

        Options:
        \(daemon.table)
          -h, --help                  Show this help and exit.

        """
    }

    private static func parseModelWorker(_ arguments: [String]) throws(CommandLineError) -> DaemonInvocation {
        if wantsHelp(arguments) {
            return .help("""
                finetuned model-worker: holds the model for finetuned and answers its requests on standard
                input and output. The daemon starts it; it is not a command for people.

                \(worker.usage)

                Options:
                \(worker.table)

                """)
        }
        var directory = ""
        var destination = LogDestination.automatic
        var level = Logger.Level.info
        var given: Set<String> = []
        try worker.scan(arguments) { option, value throws(CommandLineError) in
            given.insert(option.name)
            switch option.name {
            case "model-directory": directory = value!
            case "log-to": destination = try worker.destination(value!, for: option)
            case "log-level": level = try worker.level(value!, for: option)
            default: preconditionFailure("an option without a case: --\(option.name)")
            }
        }
        let missing = worker.options.filter { !given.contains($0.name) }
        guard missing.isEmpty else {
            throw worker.error("missing " + missing.map { "'\($0.head)'" }.joined(separator: ", "))
        }
        return .modelWorker(ModelWorkerOptions(modelDirectory: directory, logTo: destination, logLevel: level))
    }

    private static func wantsHelp(_ arguments: [String]) -> Bool {
        arguments.contains { $0 == "-h" || $0 == "--help" }
    }

    // MARK: - The commands

    static let daemon = Syntax(
        command: "finetuned",
        usage: "Usage: finetuned [--config <file>] [--check-config] [--log-to <destination>] [--log-level <level>]",
        options: [
            Option(name: "config", valueName: "file", help: "The configuration file (default: \(ConfigurationLoader.defaultPath))."),
            Option(name: "check-config", valueName: nil, help: "Check the configuration file, print what is wrong, and exit (0: valid, 1: invalid)."),
            Option(name: "log-to", valueName: "destination", help: "Where to log: auto (journald under systemd, stderr otherwise; the default), journal or stderr."),
            Option(name: "log-level", valueName: "level", help: "Override the configuration's log level (\(Syntax.levelNames))."),
            Option(name: "version", valueName: nil, help: "Print the version and exit."),
        ])

    static let worker = Syntax(
        command: "finetuned model-worker",
        usage: "Usage: finetuned model-worker --model-directory <folder> --log-to <destination> --log-level <level>",
        options: [
            Option(name: "model-directory", valueName: "folder", help: "The folder of the MiniLM model files."),
            Option(name: "log-to", valueName: "destination", help: "Where to log: auto, journal or stderr."),
            Option(name: "log-level", valueName: "level", help: "The log level (\(Syntax.levelNames))."),
        ])

    struct Option: Sendable {
        let name: String
        /// What the value is called in the usage; nil for a flag.
        let valueName: String?
        let help: String

        /// `--name <value>` as the usage and the help show it.
        var head: String { "--\(name)" + (valueName.map { " <\($0)>" } ?? "") }
    }

    /// One command: its name, usage and long options, and the errors that name them.
    struct Syntax: Sendable {
        let command: String
        let usage: String
        let options: [Option]

        static let levelNames = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")

        func error(_ message: String) -> CommandLineError {
            CommandLineError(message: message, command: command, usage: usage)
        }

        /// Walks the arguments: `--name value`, `--name=value` or `--flag`; a later option
        /// overrides an earlier one.
        func scan(_ arguments: [String], _ found: (Option, String?) throws(CommandLineError) -> Void) throws(CommandLineError) {
            var index = 0
            while index < arguments.count {
                let argument = arguments[index]
                index += 1
                guard argument.hasPrefix("--"), argument.count > 2 else { throw error("unexpected argument '\(argument)'") }
                let body = argument.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                let inline: String? = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                guard let option = options.first(where: { $0.name == name }) else { throw error("unknown option '--\(name)'") }
                if option.valueName == nil {
                    guard inline == nil else { throw error("'--\(name)' takes no value") }
                    try found(option, nil)
                } else if let inline {
                    try found(option, inline)
                } else if index < arguments.count, !arguments[index].hasPrefix("--") {
                    try found(option, arguments[index])
                    index += 1
                } else {
                    throw error("missing value for '\(option.head)'")
                }
            }
        }

        func destination(_ value: String, for option: Option) throws(CommandLineError) -> LogDestination {
            guard let destination = LogDestination(rawValue: value) else {
                let names = LogDestination.allCases.map(\.rawValue).joined(separator: ", ")
                throw error("'\(value)' is not a log destination for '--\(option.name)': use one of \(names)")
            }
            return destination
        }

        func level(_ value: String, for option: Option) throws(CommandLineError) -> Logger.Level {
            guard let level = Logger.Level(rawValue: value) else {
                throw error("'\(value)' is not a log level for '--\(option.name)': use one of \(Self.levelNames)")
            }
            return level
        }

        /// The options as the help lists them, descriptions in one column.
        var table: String {
            options.map { "  " + $0.head + String(repeating: " ", count: max(1, 28 - $0.head.count)) + $0.help }
                .joined(separator: "\n")
        }
    }
}
