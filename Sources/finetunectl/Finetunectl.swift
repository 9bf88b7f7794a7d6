import ArgumentParser
import FinetunedControl
import Foundation

@main
struct Finetunectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetunectl",
        abstract: "Controls a running finetuned daemon.",
        discussion: """
            Exit codes: 0 success; 1 the daemon refused or failed the request; 2 usage error; \
            3 the daemon is not running; 4 permission denied on the control socket; \
            5 connection failed or timed out; 6 protocol mismatch between finetunectl and finetuned.
            """,
        version: FinetunedVersion.current,
        subcommands: [
            Status.self, List.self, Show.self, History.self, Watch.self, Cancel.self, Retry.self, Adapters.self, Validate.self, Submit.self,
            Score.self, Reload.self, MetricsCommand.self, Logs.self, ReportCommand.self, StoreCommand.self,
        ])
}

extension Finetunectl {
    /// Usage errors exit 2, as documented, instead of ArgumentParser's 64; a verb that cannot
    /// even set up its work (no such profile) is a usage error too.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let failure as Validate.Failure {
            FileHandle.standardError.write(Data("finetunectl: \(failure.description)\n".utf8))
            Foundation.exit(2)
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Options every verb shares.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's control socket.", valueName: "path"))
    var socket: String =
        ProcessInfo.processInfo.environment["FINETUNED_SOCKET"]
        ?? "/run/finetuned/\(ControlProtocol.socketName)"

    @Option(name: .long, help: "Seconds to wait for the daemon's answer.")
    var timeout: Int = 30

    var client: ControlClient { ControlClient(socketPath: socket, timeoutSeconds: timeout) }
}

/// Runs a call and turns its failure into the documented message and exit code.
func perform<R>(_ body: () throws(ControlClientError) -> R) throws -> R {
    do {
        return try body()
    } catch {
        FileHandle.standardError.write(Data("finetunectl: \(error.description)\n".utf8))
        throw ExitCode(error.exitCode)
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder.control
    encoder.outputFormatting.insert(.prettyPrinted)
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
