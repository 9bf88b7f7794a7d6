import AdapterKit
import FinetunedConfig

/// A profile joined with its adapter and model, its hyperparameters checked and resolved.
public struct ResolvedProfile: Sendable {
    public var profile: Profile
    public var adapter: LoadedAdapter
    public var model: ModelDescription
    /// The string map Bedrock takes, defaults included.
    public var hyperparameters: [String: String]
    public var backendKind: BackendKind
    /// The S3 bucket the training data goes to (Bedrock backends): media a record names must
    /// be in it.
    public var dataBucket: String?

    public init(
        profile: Profile, adapter: LoadedAdapter, model: ModelDescription, hyperparameters: [String: String], backendKind: BackendKind,
        dataBucket: String? = nil
    ) {
        self.dataBucket = dataBucket
        self.profile = profile
        self.adapter = adapter
        self.model = model
        self.hyperparameters = hyperparameters
        self.backendKind = backendKind
    }

    /// Whether a custom model deployment serves the custom model (on demand, billed per
    /// token): where the profile allows it and the model and the backend can; else a
    /// provisioned throughput (the local backend's own server counts as one).
    public var servesOnDemand: Bool {
        switch profile.serving {
        case .provisioned: false
        case .onDemand, .auto: backendKind == .bedrock && model.serving.onDemand
        }
    }

    /// Why a paid job must not start on this profile `today`, or nil. An end-of-life base
    /// model is refused unless the profile says `allow_end_of_life = true`; the local backend
    /// costs nothing and is never refused.
    public func paidJobRefusal(today: String) -> String? {
        guard backendKind == .bedrock, !profile.allowEndOfLife else { return nil }
        guard model.lifecycle.status(on: today) == .endOfLife else { return nil }
        let when = model.lifecycle.endOfLifeDate.map { " on \($0)" } ?? ""
        return
            "base model \(model.id) reached end of life\(when); set allow_end_of_life = true in profile '\(profile.name)' to start a paid job on it anyway"
    }
}

/// Checks every profile of a configuration against the loaded adapters.
public enum ProfileCheck {
    public struct Outcome: Sendable {
        public var errors: [ConfigurationDiagnostic] = []
        public var warnings: [ConfigurationDiagnostic] = []
        public var profiles: [String: ResolvedProfile] = [:]
    }

    /// `today` is an ISO date (`2026-11-28`): lifecycle states are derived from it.
    public static func check(_ configuration: DaemonConfiguration, adapters: AdapterSet, today: String) -> Outcome {
        var outcome = Outcome()
        for name in configuration.profiles.keys.sorted() {
            let profile = configuration.profiles[name]!
            let path = ["profiles", name]
            guard let adapter = adapters.adapters[profile.adapter] else {
                outcome.errors.append(
                    configuration.diagnostic(
                        at: path + ["adapter"], "profile '\(name)': \(adapters.explainMissing(profile.adapter))"))
                continue
            }
            guard let model = adapter.description.model(profile.baseModel) else {
                let known = adapter.description.models.map(\.id)
                let hint = Spelling.suggestion(for: profile.baseModel, among: known).map { "did you mean '\($0)'? " } ?? ""
                outcome.errors.append(
                    configuration.diagnostic(
                        at: path + ["base_model"],
                        "profile '\(name)': adapter '\(adapter.name)' has no base model '\(profile.baseModel)' (\(hint)known: \(known.joined(separator: ", ")))"
                    ))
                continue
            }
            let hyperparameters: [String: String]
            do {
                hyperparameters = try HyperparameterResolution.resolve(profile.hyperparameters, for: model)
            } catch {
                for problem in error.problems {
                    outcome.errors.append(
                        configuration.diagnostic(
                            at: path + ["hyperparameters", problem.name], "profile '\(name)': \(problem.message)"))
                }
                continue
            }
            if !model.serving.validationData, profile.validationSet != nil || !profile.validationSets.isEmpty {
                outcome.errors.append(
                    configuration.diagnostic(
                        at: path + [profile.validationSet != nil ? "validation_set" : "validation_sets"],
                        "profile '\(name)': \(model.displayName) jobs take no validation set"))
                continue
            }
            let kind = configuration.backends[profile.backend]?.kind ?? .local
            if profile.serving == .onDemand, !model.serving.onDemand {
                outcome.errors.append(
                    configuration.diagnostic(
                        at: path + ["serving"],
                        "profile '\(name)': \(model.displayName) cannot be served on demand (no custom model deployment); use serving = \"provisioned\" or \"auto\""
                    ))
                continue
            }
            if profile.customization == "distillation" {
                guard model.serving.customizations.contains(.distillation) else {
                    outcome.errors.append(
                        configuration.diagnostic(
                            at: path + ["customization"], "profile '\(name)': \(model.displayName) cannot be a distillation student"))
                    continue
                }
                if let teacher = profile.teacherModel, !model.serving.teachers.contains(teacher) {
                    outcome.errors.append(
                        configuration.diagnostic(
                            at: path + ["teacher_model"],
                            "profile '\(name)': \(model.displayName) cannot learn from '\(teacher)' (teachers: \(model.serving.teachers.joined(separator: ", ")))"
                        ))
                    continue
                }
            }
            // The adapter refuses what its model does not take: better at load than on every
            // evaluation prompt after a paid job.
            let inference = profile.inference
            let parameters = InferenceParameters(
                maxTokens: inference.maxTokens, temperature: inference.temperature, topP: inference.topP,
                topK: inference.topK, stopSequences: inference.stopSequences)
            do {
                _ = try adapter.buildInvokeRequest(
                    InvokeRequest(
                        model: model.id, prompt: "Check the inference settings.", parameters: parameters,
                        api: model.serving.invokeAPI))
            } catch {
                outcome.errors.append(configuration.diagnostic(at: path + ["inference"], "profile '\(name)': [inference]: \(error.message)"))
                continue
            }
            let resolved = ResolvedProfile(
                profile: profile, adapter: adapter, model: model, hyperparameters: hyperparameters, backendKind: kind,
                dataBucket: configuration.backends[profile.backend]?.bedrock?.bucket)
            outcome.profiles[name] = resolved
            if let warning = lifecycleWarning(resolved, today: today) {
                outcome.warnings.append(configuration.diagnostic(at: path + ["base_model"], "profile '\(name)': \(warning)"))
            }
        }
        return outcome
    }

    static func lifecycleWarning(_ resolved: ResolvedProfile, today: String) -> String? {
        let model = resolved.model
        switch model.lifecycle.status(on: today) {
        case .endOfLife:
            let when = model.lifecycle.endOfLifeDate.map { " on \($0)" } ?? " (reported)"
            let consequence =
                if resolved.paidJobRefusal(today: today) != nil {
                    "paid jobs on it are refused unless the profile sets allow_end_of_life = true"
                } else if resolved.backendKind == .bedrock {
                    "the profile allows paid jobs on it anyway"
                } else {
                    "the local backend still runs it"
                }
            return "base model \(model.id) reached end of life\(when); \(consequence)"
        case .legacy:
            let until = model.lifecycle.endOfLifeDate.map { " until its end of life on \($0)" } ?? ""
            return "base model \(model.id) is legacy\(until)"
        case .active:
            return nil
        }
    }
}
