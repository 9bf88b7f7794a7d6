import FinetunedConfig
import FinetunedControl
import FinetunedDaemon
import FinetunedModelWorker
import FinetunedSystemd
import Glibc
import Logging

/// The process is set up (heap thresholds, executor) before the command line is read.
/// `finetuned model-worker` is the daemon's own worker process, not a command for people.
@main
enum FinetunedMain {
    static func main() {
        ProcessSetup.apply()
        let invocation: DaemonInvocation
        do {
            invocation = try DaemonCommandLine.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            standardError(error.description)
            exit(error.exitCode)  // 64, EX_USAGE
        }
        switch invocation {
        case .help(let text):
            print(text, terminator: "")
        case .version:
            print(FinetunedVersion.current)
        case .modelWorker(let options):
            options.logTo.bootstrap(level: options.logLevel)
            ModelWorkerMain.run(modelDirectory: options.modelDirectory, logger: Logger(label: "finetuned"))
        case .checkConfig(let path):
            ProcessSetup.runMain { exit(await checkConfiguration(path: path)) }
        case .run(let options):
            ProcessSetup.runMain { exit(await runDaemon(options)) }
        }
    }

    /// Loads the configuration and its adapters as a start would, and reports instead of
    /// running: 0 when it is valid, 1 with every problem on stderr.
    static func checkConfiguration(path: String) async -> Int32 {
        guard let setup = await loadSetup(path: path, with: SetupLoader()) else { return 1 }
        for warning in setup.warnings { standardError("warning: \(warning)\n") }
        let c = setup.configuration
        print(
            "\(path): OK (\(c.profiles.count) profiles, \(c.backends.count) backends, adapters: \(setup.adapters.names.sorted().joined(separator: ", ")))"
        )
        return 0
    }

    static func runDaemon(_ options: DaemonOptions) async -> Int32 {
        let loader = SetupLoader()
        guard let setup = await loadSetup(path: options.configPath, with: loader) else { return 1 }
        let level = options.logLevel ?? Logger.Level(rawValue: setup.configuration.daemon.logLevel) ?? .info
        options.logTo.bootstrap(level: level)
        let logger = Logger(label: "finetuned")
        do {
            let worker = ModelWorkerLauncher(logTo: options.logTo.resolved().rawValue, logLevel: level.rawValue)
            try await Daemon(setup: setup, loader: loader, logger: logger, modelWorker: worker).run()
            return 0
        } catch {
            logger.critical("finetuned failed: \(error)")
            return 1
        }
    }

    /// The configuration and adapters, or nil after printing every problem (FILE:LINE: …).
    static func loadSetup(path: String, with loader: SetupLoader) async -> DaemonSetup? {
        do {
            return try await loader.load(path: path)
        } catch {
            standardError(error.description + "\n")
            return nil
        }
    }

    static func standardError(_ text: String) {
        try? writeAll(STDERR_FILENO, Array(text.utf8))
    }
}
