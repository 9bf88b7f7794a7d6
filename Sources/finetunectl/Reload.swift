import ArgumentParser
import FinetunedControl
import Foundation

/// `ExecReload=` of the unit: unlike `kill -HUP`, it waits for the reload and fails when
/// the new configuration is refused, so `systemctl reload` reports the problem.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-read the configuration and rescan adapter directories; exit 1 if the new configuration is refused.")

    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .long, help: "Print JSON for machines.") var json = false

    func run() throws {
        let outcome = try perform { () throws(ControlClientError) in
            try connection.client.call(ControlRequest(verb: "reload"), as: ReloadOutcome.self)
        }
        if json { try printJSON(outcome) }
        switch outcome {
        case .applied(let profiles):
            if !json { print("configuration reloaded (\(profiles.count) profiles: \(profiles.joined(separator: ", ")))") }
        case .refused(let diagnostics):
            if !json {
                FileHandle.standardError.write(
                    Data(
                        ("finetunectl: the new configuration was refused; the previous one stays in force:\n"
                            + diagnostics.map { "  \($0)" }.joined(separator: "\n") + "\n").utf8))
            }
            throw ExitCode(1)
        }
    }
}
