import AdapterKit
import FinetunedAdapters
import FinetunedConfig

/// Validates a drop for a profile: the file against the profile's model, and the profile's
/// hyperparameters with the drop's overrides against the model's schema. The daemon and
/// `finetunectl validate` both come through here, so they cannot disagree.
public enum DropValidation {
    public static func validate(
        path: String, displayName: String? = nil, profile: ResolvedProfile,
        overrides: [String: ConfigNode] = [:], role: ValidationPlan.Role = .training, today: String,
        observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) -> ValidationReport {
        let values = profile.profile.hyperparameters.merging(overrides) { $1 }
        var hyperparameters = profile.hyperparameters
        var problems: [ValidationProblem] = []
        do {
            hyperparameters = try HyperparameterResolution.resolve(values, for: profile.model)
        } catch {
            problems += error.problems.map { ValidationProblem(.error, .hyperparameter, line: 0, $0.message) }
        }
        if let refusal = profile.paidJobRefusal(today: today) {
            problems.append(ValidationProblem(.error, .endOfLife, line: 0, refusal))
        }
        let adapter = profile.adapter
        let model = profile.model
        var hook: (@Sendable (JSONValue) -> [RecordProblem])?
        if adapter.hasRecordCheck {
            hook = { record in
                do {
                    return try adapter.checkRecord(model: model.id, record: record)
                } catch {
                    return [RecordProblem(.error, "\(error)")]
                }
            }
        }
        var plan = ValidationPlan(model: model, hyperparameters: hyperparameters, role: role, dataBucket: profile.dataBucket)
        plan.distillation = profile.profile.customization == "distillation"
        var report = FileValidator(plan: plan, recordHook: hook).validate(path: path, displayName: displayName, observe: observe)
        for problem in problems.reversed() { report.add(problem) }
        return report
    }
}
