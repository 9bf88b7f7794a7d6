import AdapterKit
import ArgumentParser
import FinetunedAdapters
import FinetunedConfig
import FinetunedValidation
import Foundation

/// Validates a training file exactly as the daemon would, without a daemon.
struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a JSONL training file against a profile (or an adapter's base model) before dropping it.",
        discussion: "Exit codes: 0 valid, 1 invalid, 2 usage error.")

    @Argument(help: "The JSONL file.") var file: String

    @Option(name: .long, help: "A profile of the configuration.") var profile: String?
    @Option(name: .long, help: "The configuration file (for --profile and the adapter directories).")
    var config: String = ProcessInfo.processInfo.environment["FINETUNED_CONFIG"] ?? ConfigurationLoader.defaultPath
    @Option(name: .long, help: "An adapter name, instead of --profile.") var adapter: String?
    @Option(name: .customLong("base-model"), help: "The base model id, with --adapter.") var baseModel: String?
    @Option(name: .customLong("adapter-dir"), help: "Where to find adapters (repeatable); default: the configuration's directories.")
    var adapterDirectories: [String] = []
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a hyperparameter (repeatable).", valueName: "name=value"))
    var overrides: [String] = []
    @Option(name: .long, help: "training or validation.") var role: String = "training"
    @Option(name: .customLong("data-bucket"), help: "With --adapter: the S3 bucket the data goes to; media records name must be in it.")
    var dataBucket: String?
    @Flag(name: .long, help: "Print the report as JSON.") var json = false

    func validate() throws {
        guard (profile == nil) != (adapter == nil) else {
            throw ValidationError("give either --profile, or --adapter with --base-model")
        }
        if adapter != nil && baseModel == nil { throw ValidationError("--adapter needs --base-model") }
        guard ValidationPlan.Role(rawValue: role) != nil else { throw ValidationError("--role is training or validation") }
        for item in overrides where !item.contains("=") { throw ValidationError("--set takes name=value, not '\(item)'") }
    }

    func run() async throws {
        let resolved = try await resolveProfile()
        let report = DropValidation.validate(
            path: file, profile: resolved, overrides: try parsedOverrides(), role: ValidationPlan.Role(rawValue: role)!,
            today: LifecycleCalendar.today())
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text(), terminator: "")
        }
        if !report.isValid { throw ExitCode(1) }
    }

    /// `epochCount=3` → an integer, `learningRate=0.0001` → a number, `x=true` → a boolean.
    func parsedOverrides() throws -> [String: ConfigNode] {
        var out: [String: ConfigNode] = [:]
        for item in overrides {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            let value = parts.count > 1 ? parts[1] : ""
            out[parts[0]] =
                Int(value).map(ConfigNode.integer) ?? Double(value).map(ConfigNode.float)
                ?? (value == "true" ? .boolean(true) : value == "false" ? .boolean(false) : .string(value))
        }
        return out
    }

    func resolveProfile() async throws -> ResolvedProfile {
        let configuration: DaemonConfiguration?
        if profile != nil || adapterDirectories.isEmpty {
            do {
                configuration = try ConfigurationLoader.load(path: config)
            } catch {
                guard profile == nil else { throw Failure(error.description) }
                configuration = nil
            }
        } else {
            configuration = nil
        }
        let directories =
            adapterDirectories.isEmpty
            ? configuration?.adapterDirectories ?? ["/usr/lib/finetuned/adapters", "/etc/finetuned/adapters"] : adapterDirectories
        let adapters = await AdapterLoader().scan(directories: directories)
        if let profile, let configuration {
            let check = ProfileCheck.check(configuration, adapters: adapters, today: LifecycleCalendar.today())
            guard let resolved = check.profiles[profile] else {
                if configuration.profiles[profile] == nil {
                    throw Failure("no profile '\(profile)' in \(config) (profiles: \(configuration.profiles.keys.sorted().joined(separator: ", ")))")
                }
                throw Failure(check.errors.filter { $0.message.contains("profile '\(profile)'") }.map(\.description).joined(separator: "\n"))
            }
            return resolved
        }
        guard let adapterName = adapter, let loaded = adapters.adapters[adapterName] else {
            throw Failure(adapters.explainMissing(adapter ?? ""))
        }
        guard let model = loaded.description.model(baseModel ?? "") else {
            throw Failure(
                "adapter '\(loaded.name)' has no base model '\(baseModel ?? "")' (known: \(loaded.description.models.map(\.id).joined(separator: ", ")))"
            )
        }
        let defaults = (try? HyperparameterResolution.resolve([:], for: model)) ?? [:]
        // No profile: nothing decides about paid jobs here, so end of life is not held against it.
        let standalone = Profile(name: "\(loaded.name)/\(model.id)", adapter: loaded.name, baseModel: model.id, backend: "none", allowEndOfLife: true)
        return ResolvedProfile(
            profile: standalone, adapter: loaded, model: model, hyperparameters: defaults, backendKind: .local,
            dataBucket: dataBucket)
    }

    /// A failure to set up the check itself: a usage problem, exit 2.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
