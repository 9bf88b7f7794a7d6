import FinetunedAdapters
import FinetunedConfig
import FinetunedText
import FinetunedValidation
import FinetunedWorkflow
import Foundation

/// What admission accepted, turned into the workflow's specification when it is run. Admission
/// copied the drop's sidecar and the sets it is judged and validated on into the spool (the
/// archive once it has ended) after checking them, before anything was paid, so everything a
/// drop decides about its run is read back from those copies here, in the inbox's own terms,
/// never from the submitter's files.
public struct AdmittedDrop: Sendable {
    public let workflow: WorkflowRecord
    public let layout: InboxLayout

    public init(_ workflow: WorkflowRecord, layout: InboxLayout) {
        self.workflow = workflow
        self.layout = layout
    }

    /// The specification under `profile`, the one configured now for the workflow's profile.
    public func specification(profile: ResolvedProfile, today: String) throws -> WorkflowSpec {
        var sidecar = Sidecar()
        let sidecarPath = layout.spoolSidecar(workflow.id)
        if let text = try? String(contentsOfFile: sidecarPath, encoding: .utf8) {
            sidecar = try Sidecar.parse(text: text, file: sidecarPath)
        }
        if let refusal = profile.paidJobRefusal(today: today) { throw Failure(.specification, refusal) }
        let hyperparameters: [String: String]
        do {
            hyperparameters = try HyperparameterResolution.resolve(
                profile.profile.hyperparameters.merging(sidecar.hyperparameters) { $1 }, for: profile.model)
        } catch {
            throw Failure(.specification, error.problems.map(\.message).joined(separator: "; "))
        }
        // Workflows admitted by an older version have no copies and fall back to the profile's sets.
        let evaluationCopy = copy(of: .evaluation)
        guard let evaluationSet = evaluationCopy ?? profile.profile.evaluationSet else {
            throw Failure(
                .specification,
                "profile '\(workflow.profile)' has no evaluation_set, so the custom model could not be compared with the base model; nothing was started"
            )
        }
        // Admitted by this version (its evaluation set was copied): the validation set is the
        // copy admission checked, or none; a reload that added one since does not apply.
        let validationSet = evaluationCopy != nil ? copy(of: .validation) : profile.profile.validationSet
        if let validationSet, evaluationCopy == nil {
            try Self.checkUncopied(validationSet: validationSet, profile: profile, today: today)
        }
        let stem = ResourceNaming.sanitize("finetuned-\(workflow.id)")
        return WorkflowSpec(
            adapter: profile.profile.adapter, baseModel: profile.model.id, backend: profile.profile.backend,
            hyperparameters: hyperparameters, evaluationSet: evaluationSet,
            jobName: sidecar.jobName.map { "\($0)-\(workflow.id)" } ?? stem,
            customModelName: "\(sidecar.customModelName ?? ResourceNaming.prefix(workflow.profile))-\(workflow.id)",
            throughputName: stem, keepRejectedModels: profile.profile.keepRejectedModels,
            baseInferenceModel: profile.model.inferenceID, validationSet: validationSet,
            serving: profile.servesOnDemand ? .onDemand : .provisioned, keepServing: profile.profile.keep == .modelAndServing,
            inference: InferenceSpec(profile.profile.inference),
            teacherModel: profile.profile.customization == "distillation" ? profile.profile.teacherModel : nil)
    }

    /// A workflow admitted before sets were copied never had its profile's validation set
    /// checked with it: checked now, before the job that would read it.
    private static func checkUncopied(validationSet: String, profile: ResolvedProfile, today: String) throws {
        let report = DropValidation.validate(path: validationSet, profile: profile, role: .validation, today: today)
        guard !report.isValid else { return }
        let first = report.problems.first { $0.severity == .error }
        throw Failure(
            .specification,
            "the validation set \(validationSet) is not valid for \(profile.model.id): "
                + (first.map { ($0.line > 0 ? "line \($0.line): " : "") + $0.message } ?? "\(report.errorCount) errors")
                + "; nothing was started")
    }

    /// The daemon's copy of a set for this workflow: in the spool while it runs, in its
    /// archive folder once it has finished.
    private func copy(of companion: Companion) -> String? {
        [layout.spoolCompanion(workflow.id, companion), layout.archiveFolder(workflow.id) + "/" + Self.archivedName(companion)]
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    public static func archivedName(_ companion: Companion) -> String {
        ArchiveNames.name(forSuffix: companion.suffix) ?? companion.rawValue
    }
}

extension InferenceSpec {
    init(_ settings: InferenceSettings) {
        self.init(
            maxTokens: settings.maxTokens, temperature: settings.temperature, topP: settings.topP, topK: settings.topK,
            stopSequences: settings.stopSequences)
    }
}
