import Crypto
import FinetunedAdapters
import FinetunedConfig
import FinetunedEvaluation
import FinetunedText
import FinetunedValidation
import Foundation
import Metrics

/// Everything that reads a claimed drop's bytes, before anything is paid: the drop and its
/// companions copied into daemon-owned files, the sidecar parsed, the evaluation and
/// validation sets resolved and checked, the drop validated.
///
/// Blocking from start to end (reads whole files): `DropProcessor` runs it on a thread of its
/// own, so the control socket, the watchdog and other drops never wait on one file.
struct DropAdmission {
    let layout: InboxLayout
    let spool: DirectoryHandle
    let workflowID: String
    /// The drop's name in the inbox, for reports.
    let name: String
    let profile: ResolvedProfile
    /// The uid that owned the drop at claim time, when known.
    let ownerUID: UInt32?
    let requireGroup: Bool
    let today: String

    /// Sidecars are a few settings; anything bigger is not one.
    static let sidecarLimit = 64 << 10
    /// Evaluation sets are read whole to be sent to two models: a few thousand prompts.
    static let evaluationLimit = 16 << 20
    /// For models whose adapter states no file size limit.
    static let fallbackFileLimit = 10 << 30

    struct Result {
        /// Problems with the files themselves, each a line of the report.
        var problems: [String] = []
        /// The drop's validation, when its copy could be read.
        var report: ValidationReport?
        /// Reports of the other files checked (the validation set), for the rejection report.
        var otherReports: [String] = []
        var digest: String?
        var sidecar = Sidecar()
        /// Companions that came with the drop: they go to rejected/ with it.
        var fromDrop: Set<Companion> = []

        var isValid: Bool { problems.isEmpty && report?.isValid == true }
    }

    func run() -> Result {
        var result = Result()
        let shown = OneLine.of(name, limit: 120)
        let copyName = workflowID + ".jsonl"
        let dropLimit = profile.model.limits.maxTrainingFileBytes ?? Self.fallbackFileLimit
        var owner = ownerUID
        if spool.status(InboxLayout.claimedName(workflowID)) == nil, let st = spool.status(copyName),
            st.st_uid != geteuid() || st.st_nlink != 1
        {
            // Claimed by a version that validated the submitter's own inode: copy it now.
            try? spool.move(copyName, to: spool, as: InboxLayout.claimedName(workflowID))
        }
        if spool.status(InboxLayout.claimedName(workflowID)) != nil {
            do {
                let copy = try SubmittedFile.copy(InboxLayout.claimedName(workflowID), in: spool, to: copyName, in: spool, limit: dropLimit)
                result.digest = copy.sha256
                if let ownerUID, copy.owner != ownerUID {
                    result.problems.append("\(shown) changed owner between its claim (uid \(ownerUID)) and its copy (uid \(copy.owner))")
                }
                owner = copy.owner
            } catch {
                result.problems.append("\(shown) was not taken: \(error)")
            }
        } else if spool.status(copyName) == nil {
            result.problems.append("\(shown) is no longer in the spool (removed by hand?)")
        }
        if requireGroup, let owner, !userBelongs(uid: owner, to: layout.submitGroup) {
            result.problems.append("\(shown) is owned by uid \(owner), who is not in the group '\(layout.submitGroup)' (require_group = true)")
        }

        for companion in Companion.allCases where spool.status(InboxLayout.claimedName(workflowID, companion)) != nil {
            result.fromDrop.insert(companion)
            do {
                _ = try SubmittedFile.copy(
                    InboxLayout.claimedName(workflowID, companion), in: spool,
                    to: workflowID + companion.suffix, in: spool, limit: limit(for: companion))
            } catch {
                result.problems.append("\(companion.words(companion.name(for: shown))) was not taken: \(error)")
            }
        }
        readSidecar(into: &result)
        checkEvaluationSet(into: &result)
        checkValidationSet(into: &result)

        if spool.status(copyName) != nil {
            // A drop copied before a restart has its digest taken here, in the same pass.
            var hasher: SHA256? = result.digest == nil ? SHA256() : nil
            let started = ContinuousClock.now
            let report = DropValidation.validate(
                path: spool.path(of: copyName), displayName: name, profile: profile, overrides: result.sidecar.hyperparameters,
                today: today, observe: { hasher?.update(bufferPointer: $0) })
            Metrics.Timer(label: "finetuned_validation_seconds").record(duration: started.duration(to: .now))
            Counter(label: "finetuned_validation_bytes_total").increment(by: report.bytes)
            if let hasher, !report.problemCounts.contains(where: { $0.kind == .unreadable }) {
                result.digest = hasher.finalize().hex
            }
            result.report = report
        }
        return result
    }

    func limit(for companion: Companion) -> Int {
        switch companion {
        case .sidecar: Self.sidecarLimit
        case .evaluation: Self.evaluationLimit
        case .validation: profile.model.limits.maxValidationFileBytes ?? Self.fallbackFileLimit
        }
    }

    private func readSidecar(into result: inout Result) {
        let file = DropName.sidecar(for: OneLine.of(name, limit: 120))
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: layout.spoolSidecar(workflowID))) else { return }
        guard let text = String(data: data, encoding: .utf8) else {
            result.problems.append("the sidecar \(file) is not UTF-8 text")
            return
        }
        do {
            result.sidecar = try Sidecar.parse(text: text, file: file)
        } catch {
            // Each diagnostic carries its file:line; the first one is the rejection's summary.
            result.problems += error.diagnostics.map(\.description)
        }
    }

    /// Where a set comes from, in order: the drop's companion, the sidecar's choice among the
    /// profile's named sets, the profile's own. What is not a companion is copied into the
    /// spool; the result names the source for reports, or is nil when there is none (or the
    /// problem is recorded).
    private func resolveSet(
        _ companion: Companion, chosen: String?, named: [String: String], configured: String?,
        key: String, table: String, into result: inout Result
    ) -> String? {
        let target = workflowID + companion.suffix
        if result.fromDrop.contains(companion) {
            if chosen != nil {
                result.problems.append("the drop brings \(companion.name(for: name)) and its sidecar names \(key) too; keep one")
            }
            return companion.name(for: name)
        }
        let path: String?
        if let chosen {
            path = named[chosen]
            if path == nil {
                let names = named.isEmpty ? "the profile lists none" : "known: " + named.keys.sorted().joined(separator: ", ")
                result.problems.append("the sidecar's \(key) '\(chosen)' is not in [profiles.\(profile.profile.name).\(table)] (\(names))")
            }
        } else {
            path = configured
        }
        guard let path else { return nil }
        return copyConfigured(path, to: target, into: &result) ? path : nil
    }

    /// Which evaluation set the drop is judged on, copied into the spool and checked now: a
    /// broken set found after training would have paid for a model nobody can judge.
    private func checkEvaluationSet(into result: inout Result) {
        let target = workflowID + Companion.evaluation.suffix
        let chosen = result.sidecar.evaluationSet
        guard
            let source = resolveSet(
                .evaluation, chosen: chosen, named: profile.profile.evaluationSets, configured: profile.profile.evaluationSet,
                key: "evaluation_set", table: "evaluation_sets", into: &result)
        else {
            if chosen == nil && !result.fromDrop.contains(.evaluation) && profile.profile.evaluationSet == nil {
                result.problems.append(
                    "no evaluation set: the profile '\(profile.profile.name)' names none and the drop brings no "
                        + "\(Companion.evaluation.name(for: name)), so the custom model could not be compared with the base model")
            }
            return
        }
        guard spool.status(target) != nil else { return }
        do {
            _ = try EvaluationSet.load(path: spool.path(of: target))
        } catch {
            let lines = error.problems.prefix(20).map { "  " + $0.replacingOccurrences(of: target, with: source) }
            result.problems.append("the evaluation set \(source) is not usable:\n" + lines.joined(separator: "\n"))
        }
    }

    /// The job's validation data, checked like a drop against the model's validation limits.
    private func checkValidationSet(into result: inout Result) {
        let target = workflowID + Companion.validation.suffix
        guard
            let source = resolveSet(
                .validation, chosen: result.sidecar.validationSet, named: profile.profile.validationSets,
                configured: profile.profile.validationSet, key: "validation_set", table: "validation_sets", into: &result)
        else { return }
        guard profile.model.serving.validationData else {
            result.problems.append("\(source) is validation data, which \(profile.model.displayName) jobs do not take")
            return
        }
        guard profile.backendKind == .bedrock else {
            result.problems.append(
                "\(source) is validation data, which only a Bedrock job takes; the profile's \(profile.backendKind.rawValue) "
                    + "backend holds out part of the training data itself")
            return
        }
        guard spool.status(target) != nil else { return }
        let report = DropValidation.validate(path: spool.path(of: target), displayName: source, profile: profile, role: .validation, today: today)
        if !report.isValid {
            let first = report.problems.first { $0.severity == .error }.map { $0.formatted(file: source) } ?? "\(report.errorCount) errors"
            result.problems.append("the validation set is not valid for \(profile.model.id): \(first)")
            result.otherReports.append(report.text())
        }
    }

    /// Copies a set the operator configured, so the workflow keeps judging on the prompts it
    /// was validated with even if the file changes later.
    private func copyConfigured(_ path: String, to target: String, into result: inout Result) -> Bool {
        let input = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard input >= 0 else {
            result.problems.append("the configured set \(path) cannot be read: \(String(cString: strerror(errno)))")
            return false
        }
        defer { close(input) }
        let out = openat(spool.fd, target, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else {
            result.problems.append("cannot copy \(path) into the spool: \(String(cString: strerror(errno)))")
            return false
        }
        defer { close(out) }
        do {
            var none: SHA256?
            _ = try SubmittedFile.pump(from: input, to: out, hasher: &none, limit: .max, outPath: spool.path(of: target))
        } catch {
            result.problems.append("cannot copy \(path) into the spool: \(error)")
            return false
        }
        return true
    }
}
