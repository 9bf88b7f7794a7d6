import ArgumentParser
import FinetunedConfig
import FinetunedInbox
import Foundation

/// The safe way to drop from a shell: the sidecar first, then the file under a temporary name
/// renamed into place, then the daemon's receipt.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop a training set into the inbox for a profile and print the workflow id the daemon assigns.",
        discussion: "Exit codes: 0 validated, 1 rejected (the report's path is printed), 2 usage error, 5 no answer in time.")

    @Argument(help: "The JSONL file to submit.") var file: String
    @Option(name: .long, help: "The profile (a folder of the inbox).") var profile: String
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a hyperparameter (repeatable).", valueName: "name=value"))
    var overrides: [String] = []
    @Option(name: .long, help: "The inbox (default: from the configuration).") var inbox: String?
    @Option(name: .long, help: "The configuration file, to find the inbox.")
    var config: String = ProcessInfo.processInfo.environment["FINETUNED_CONFIG"] ?? ConfigurationLoader.defaultPath
    @Option(name: .long, help: "Name in the inbox (default: the file's name).") var name: String?
    @Flag(name: .long, help: "Run even if the same bytes are already running for this profile.") var force = false
    @Option(name: .long, help: "Seconds to wait for the daemon's verdict.") var timeout: Int = 120

    func validate() throws {
        for item in overrides where !item.contains("=") { throw ValidationError("--set takes name=value, not '\(item)'") }
        let target = name ?? (file as NSString).lastPathComponent
        guard DropName.isDrop(target) else { throw ValidationError("the name in the inbox must end in .jsonl and not start with '.': '\(target)'") }
    }

    func run() throws {
        let inboxPath: String
        if let inbox {
            inboxPath = inbox
        } else {
            do { inboxPath = try ConfigurationLoader.load(path: config).paths.inbox } catch {
                throw Validate.Failure("cannot read \(config) to find the inbox (\(error.description)); give --inbox")
            }
        }
        let folder = inboxPath + "/" + profile
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Validate.Failure("no inbox folder for profile '\(profile)' at \(folder)")
        }
        let target = name ?? (file as NSString).lastPathComponent
        let receipt = Receipt.path(folder: folder, dropName: target)
        unlink(receipt)
        if !overrides.isEmpty || force {
            var text = force ? "force = true\n" : ""
            if !overrides.isEmpty {
                text += "[hyperparameters]\n"
                for item in overrides {
                    let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
                    let value = parts.count > 1 ? parts[1] : ""
                    let quoted = "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
                    let literal = Int(value) != nil || Double(value) != nil || value == "true" || value == "false" ? value : quoted
                    text += "\(parts[0]) = \(literal)\n"
                }
            }
            try install(data: Data(text.utf8), as: DropName.sidecar(for: target), in: folder)
        }
        try install(data: try Data(contentsOf: URL(fileURLWithPath: file)), as: target, in: folder)
        print("submitted \(file) as \(profile)/\(target); waiting for the daemon…")
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        var announced = false
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: receipt), let answer = try? JSONDecoder().decode(Receipt.self, from: data) {
                if !announced {
                    print("workflow \(answer.workflowID)")
                    announced = true
                }
                switch answer.stage {
                case "validated":
                    unlink(receipt)
                    print("validated: \(answer.detail ?? "")")
                    return
                case "rejected":
                    unlink(receipt)
                    print("rejected: \(answer.detail ?? "")")
                    if let report = answer.report { print("report: \(report)") }
                    throw ExitCode(1)
                default:
                    break
                }
            }
            usleep(50_000)
        }
        FileHandle.standardError.write(
            Data("finetunectl: no verdict from finetuned within \(timeout) s; follow it with journalctl -u finetuned DROP_FILE=\(target)\n".utf8))
        throw ExitCode(5)
    }

    /// Writes under a temporary name the daemon ignores, then renames into place.
    private func install(data: Data, as target: String, in folder: String) throws {
        let temporary = folder + "/." + target + ".\(getpid()).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o640]) else {
            throw Validate.Failure("cannot write into \(folder): \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, folder + "/" + target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Validate.Failure("cannot move \(target) into \(folder): \(reason)")
        }
    }
}
