import FinetunedConfig
import FinetunedControl
import FinetunedDaemon
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
            exit(64)  // EX_USAGE
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
        let setup: DaemonSetup
        do {
            setup = try await SetupLoader().load(path: path)
        } catch {
            standardError(error.description + "\n")
            return 1
        }
        for warning in setup.warnings { standardError("warning: \(warning)\n") }
        let c = setup.configuration
        print("\(path): OK (\(c.profiles.count) profiles, \(c.backends.count) backends, adapters: \(setup.adapters.names.sorted().joined(separator: ", ")))")
        return 0
    }

    static func runDaemon(_ options: DaemonOptions) async -> Int32 {
        let loader = SetupLoader()
        let setup: DaemonSetup
        do {
            setup = try await loader.load(path: options.configPath)
        } catch {
            standardError(error.description + "\n")
            return 1
        }
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

    static func standardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 { if errno == EINTR { continue }; return }
                offset += written
            }
        }
    }
}
