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
    public let usage: String
    /// What is printed on stderr: the problem, the usage, where the help is.
    public var description: String {
        let command = usage.hasPrefix(DaemonCommandLine.modelWorkerUsage) ? "finetuned model-worker" : "finetuned"
        return "finetuned: \(message)\n\(usage)\nSee '\(command) --help'.\n"
    }
}

/// Parses the daemon's command line: a handful of long options, by hand.
///
/// Not swift-argument-parser (which `finetunectl` uses): it finds a command's options by
/// reflecting over the command's properties, and the runtime looks reflection metadata up by
/// scanning it in every loaded library, so parsing four options kept those pages resident in
/// a daemon that then runs for months, and in each model worker (with the service group's
/// default descriptions of the services, which reflect too: 0.6 MiB of an idle daemon).
public enum DaemonCommandLine {
    public static func parse(_ arguments: [String]) throws(CommandLineError) -> DaemonInvocation {
        if arguments.first == "model-worker" {
            return try parseModelWorker(Array(arguments.dropFirst()))
        }
        if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) { return .help(help) }
        var options = DaemonOptions()
        var checkConfig = false
        var version = false
        try scan(arguments, daemonOptions, usage: usage) { option, value throws(CommandLineError) in
            switch option.name {
            case "config": options.configPath = value!
            case "check-config": checkConfig = true
            case "log-to": options.logTo = try destination(value!, option: option, usage: usage)
            case "log-level": options.logLevel = try level(value!, option: option, usage: usage)
            case "version": version = true
            default: preconditionFailure("an option without a case: --\(option.name)")
            }
        }
        if version { return .version }
        return checkConfig ? .checkConfig(configPath: options.configPath) : .run(options)
    }

    public static let usage = "Usage: finetuned [--config <file>] [--check-config] [--log-to <destination>] [--log-level <level>]"

    public static var help: String {
        """
        finetuned \(FinetunedVersion.current): watches a drop folder for JSONL training sets and runs model
        customization workflows.

        Normally started by systemd (finetuned.service). SIGHUP reloads the configuration;
        SIGTERM stops gracefully, leaving running workflows to resume at the next start.

        \(usage)

        Options:
        \(table(daemonOptions))
          -h, --help                  Show this help and exit.

        """
    }

    static let modelWorkerUsage = "Usage: finetuned model-worker --model-directory <folder> --log-to <destination> --log-level <level>"

    private static func parseModelWorker(_ arguments: [String]) throws(CommandLineError) -> DaemonInvocation {
        if arguments.contains(where: { $0 == "-h" || $0 == "--help" }) {
            return .help("""
                finetuned model-worker: holds the model for finetuned and answers its requests on standard
                input and output. The daemon starts it; it is not a command for people.

                \(modelWorkerUsage)

                Options:
                \(table(workerOptions))

                """)
        }
        var directory: String?
        var destination: LogDestination?
        var level: Logger.Level?
        try scan(arguments, workerOptions, usage: modelWorkerUsage) { option, value throws(CommandLineError) in
            switch option.name {
            case "model-directory": directory = value!
            case "log-to": destination = try Self.destination(value!, option: option, usage: modelWorkerUsage)
            case "log-level": level = try Self.level(value!, option: option, usage: modelWorkerUsage)
            default: preconditionFailure("an option without a case: --\(option.name)")
            }
        }
        guard let directory, let destination, let level else {
            let missing = workerOptions.filter { option in
                switch option.name {
                case "model-directory": directory == nil
                case "log-to": destination == nil
                default: level == nil
                }
            }
            throw CommandLineError(
                message: "missing " + missing.map { "'--\($0.name) <\($0.valueName!)>'" }.joined(separator: ", "),
                usage: modelWorkerUsage)
        }
        return .modelWorker(ModelWorkerOptions(modelDirectory: directory, logTo: destination, logLevel: level))
    }

    // MARK: - The options

    struct Option: Sendable {
        let name: String
        /// What the value is called in the usage; nil for a flag.
        let valueName: String?
        let help: String
    }

    static let daemonOptions = [
        Option(name: "config", valueName: "file", help: "The configuration file (default: \(ConfigurationLoader.defaultPath))."),
        Option(name: "check-config", valueName: nil, help: "Check the configuration file, print what is wrong, and exit (0: valid, 1: invalid)."),
        Option(name: "log-to", valueName: "destination", help: "Where to log: auto (journald under systemd, stderr otherwise; the default), journal or stderr."),
        Option(name: "log-level", valueName: "level", help: "Override the configuration's log level (\(levelNames))."),
        Option(name: "version", valueName: nil, help: "Print the version and exit."),
    ]

    static let workerOptions = [
        Option(name: "model-directory", valueName: "folder", help: "The folder of the MiniLM model files."),
        Option(name: "log-to", valueName: "destination", help: "Where to log: auto, journal or stderr."),
        Option(name: "log-level", valueName: "level", help: "The log level (\(levelNames))."),
    ]

    private static let levelNames = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")

    /// Walks the arguments: `--name value`, `--name=value` or `--flag`; a later option
    /// overrides an earlier one.
    private static func scan(
        _ arguments: [String], _ options: [Option], usage: String,
        _ found: (Option, String?) throws(CommandLineError) -> Void
    ) throws(CommandLineError) {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw CommandLineError(message: "unexpected argument '\(argument)'", usage: usage)
            }
            let body = argument.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            let inline: String? = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
            guard let option = options.first(where: { $0.name == name }) else {
                throw CommandLineError(message: "unknown option '--\(name)'", usage: usage)
            }
            guard let valueName = option.valueName else {
                if inline != nil {
                    throw CommandLineError(message: "'--\(name)' takes no value", usage: usage)
                }
                try found(option, nil)
                continue
            }
            if let inline {
                try found(option, inline)
            } else if index < arguments.count, !arguments[index].hasPrefix("--") {
                try found(option, arguments[index])
                index += 1
            } else {
                throw CommandLineError(message: "missing value for '--\(name) <\(valueName)>'", usage: usage)
            }
        }
    }

    private static func destination(_ value: String, option: Option, usage: String) throws(CommandLineError) -> LogDestination {
        guard let destination = LogDestination(rawValue: value) else {
            let names = LogDestination.allCases.map(\.rawValue).joined(separator: ", ")
            throw CommandLineError(message: "'\(value)' is not a log destination for '--\(option.name)': use one of \(names)", usage: usage)
        }
        return destination
    }

    private static func level(_ value: String, option: Option, usage: String) throws(CommandLineError) -> Logger.Level {
        guard let level = Logger.Level(rawValue: value) else {
            throw CommandLineError(message: "'\(value)' is not a log level for '--\(option.name)': use one of \(levelNames)", usage: usage)
        }
        return level
    }

    private static func table(_ options: [Option]) -> String {
        let heads = options.map { "--\($0.name)" + ($0.valueName.map { " <\($0)>" } ?? "") }
        return zip(heads, options).map { head, option in
            "  " + head + String(repeating: " ", count: max(1, 28 - head.count)) + option.help
        }.joined(separator: "\n")
    }
}
