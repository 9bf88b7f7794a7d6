import AdapterKit
import FinetunedDigest
import FinetunedAdapters
import FinetunedConfig
import FinetunedSystemd
import FinetunedValidation
import FinetunedWorkflow
import Foundation
import Logging

/// Claims one drop, validates it, and leaves it either validated in the spool (its workflow
/// waiting for the engine) or in rejected/ with its report. Nothing is ever deleted.
///
/// The claim is crash-safe: the workflow is recorded as `claiming` before the rename and as
/// `claimed` after it, and `recover()` settles a claim interrupted between the two, so a drop
/// is always either still in the inbox or owned by exactly one workflow.
struct DropProcessor: Sendable {
    let layout: InboxLayout
    let store: any WorkflowStore
    let logger: Logger
    let requireGroup: Bool
    /// The notification channels configured now (a rejection is notified like an outcome).
    var notificationChannels: @Sendable () async -> [String] = { ["log"] }

    enum Outcome: Equatable {
        case validated(String)
        case rejected(String, reportPath: String)
        case vanished
        case ignored(String)
    }

    func process(profileName: String, name: String, profile: ResolvedProfile?, today: String) async throws(StoreError) -> Outcome {
        let source = layout.profileFolder(profileName) + "/" + name
        let kind = DropKind.inspect(source)
        if kind == .gone { return .vanished }
        let id = WorkflowRecord.newID()
        var problems: [String] = []
        var destination = layout.spoolFile(id)
        switch kind {
        case .notRegular(let reason):
            problems.append("\(name) is \(reason)")
        case .regular(let owner, _) where requireGroup && !userBelongs(uid: owner, to: layout.submitGroup):
            problems.append("\(name) is owned by uid \(owner), who is not in the group '\(layout.submitGroup)' (require_group = true)")
        default:
            break
        }
        if profile == nil { problems.append("profile '\(profileName)' is not usable (see the daemon's log for the configuration error)") }
        if !problems.isEmpty {
            do { destination = try layout.rejectionTarget(profile: profileName, name: name) } catch {
                logger.error("cannot find a free name in rejected/ for \(name): \(error)")
                return .ignored("no room in rejected/")
            }
        }
        let now = Date()
        try await store.insert(
            WorkflowRecord(id: id, profile: profileName, dropName: name, sha256: nil, spoolPath: destination,
                           stage: .claiming, createdAt: now, updatedAt: now),
            event: "claiming \(profileName)/\(name)")
        guard rename(source, destination) == 0 else {
            // errno must be read before any other call can overwrite it.
            let code = errno
            let reason = String(cString: strerror(code))
            try await store.abandonClaim(id: id)
            if code == ENOENT { return .vanished }
            logger.error("cannot claim \(profileName)/\(name): \(reason)", metadata: ["drop_file": "\(name)", "profile": "\(profileName)"])
            return .ignored(reason)
        }
        let sidecarSource = layout.profileFolder(profileName) + "/" + DropName.sidecar(for: name)
        let sidecarTarget = problems.isEmpty ? layout.spoolSidecar(id) : DropName.sidecar(for: destination)
        let hasSidecar = DropKind.inspect(sidecarSource) != .gone && rename(sidecarSource, sidecarTarget) == 0
        _ = try await store.transition(id: id, from: .claiming, to: .claimed, event: "moved to \(destination)", failure: nil)
        Receipt(workflowID: id, stage: "claimed").write(folder: layout.profileFolder(profileName), dropName: name)

        if !problems.isEmpty {
            return try await reject(id: id, profileName: profileName, name: name, at: destination, report: problems.joined(separator: "\n") + "\n", summary: problems[0])
        }
        return try await validate(id: id, profileName: profileName, name: name, profile: profile!, sidecarPath: hasSidecar ? sidecarTarget : nil, today: today)
    }

    private func validate(id: String, profileName: String, name: String, profile: ResolvedProfile, sidecarPath: String?, today: String) async throws(StoreError) -> Outcome {
        let spool = layout.spoolFile(id)
        var sidecar = Sidecar()
        if let sidecarPath {
            do {
                let text = try String(contentsOfFile: sidecarPath, encoding: .utf8)
                sidecar = try Sidecar.parse(text: text, file: DropName.sidecar(for: name))
            } catch let error as ConfigurationError {
                return try await rejectFromSpool(id: id, profileName: profileName, name: name, report: "the sidecar \(DropName.sidecar(for: name)) is invalid:\n\(error.description)\n", summary: error.diagnostics.first?.description ?? "invalid sidecar")
            } catch {
                return try await rejectFromSpool(id: id, profileName: profileName, name: name, report: "the sidecar \(DropName.sidecar(for: name)) cannot be read: \(error)\n", summary: "unreadable sidecar")
            }
        }
        // The digest is taken from the bytes the validator reads: one pass over the file.
        let hasher = SHA256Hasher()
        var report = DropValidation.validate(
            path: spool, displayName: name, profile: profile, overrides: sidecar.hyperparameters, today: today,
            observe: { hasher.update(bufferPointer: $0) })
        let unread = report.problemCounts.contains { $0.kind == .unreadable }
        let digest: String? = unread ? nil : hasher.finalize().hex
        if report.isValid, let digest, !sidecar.force,
           let twin = try await store.liveWorkflow(sha256: digest, profile: profileName), twin.id != id {
            report.add(ValidationProblem(.error, .duplicateRecord, line: 0,
                "the same bytes are already being processed by workflow \(twin.id) (\(twin.stage.rawValue)); set force = true in \(DropName.sidecar(for: name)) to run them again"))
        }
        if let digest { try await store.recordDigest(id: id, sha256: digest) }
        guard report.isValid else {
            // The first error at a line says more than a count that follows from it.
            let errors = report.problems.filter { $0.severity == .error }
            let first = (errors.first { $0.line > 0 } ?? errors.first).map { $0.formatted(file: name) } ?? "invalid"
            return try await rejectFromSpool(id: id, profileName: profileName, name: name, report: report.text(), summary: first)
        }
        let archive = layout.archiveFolder(id)
        try? FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        try? report.text().write(toFile: archive + "/validation-report.txt", atomically: true, encoding: .utf8)
        let summary = "\(report.records) records, about \(report.estimatedTrainingTokens) training tokens"
        _ = try await store.transition(id: id, from: .claimed, to: .validated, event: "valid: \(summary)", failure: nil)
        Receipt(workflowID: id, stage: "validated", detail: summary).write(folder: layout.profileFolder(profileName), dropName: name)
        logger.notice("drop accepted: \(profileName)/\(name) (\(summary))", metadata: [
            LogMessageID.dropAccepted.metadata.key: "\(LogMessageID.dropAccepted.rawValue)",
            "workflow_id": "\(id)", "profile": "\(profileName)", "drop_file": "\(name)", "stage": "validated",
        ])
        return .validated(id)
    }

    /// Moves a claimed drop (and its sidecar) from the spool to rejected/ with its report.
    private func rejectFromSpool(id: String, profileName: String, name: String, report: String, summary: String) async throws(StoreError) -> Outcome {
        let target: String
        do { target = try layout.rejectionTarget(profile: profileName, name: name) } catch {
            logger.error("cannot find a free name in rejected/ for \(name): \(error)")
            return .ignored("no room in rejected/")
        }
        if rename(layout.spoolFile(id), target) != 0 {
            logger.error("cannot move \(name) to \(target): \(String(cString: strerror(errno)))", metadata: ["workflow_id": "\(id)"])
        } else {
            try await store.recordLocation(id: id, path: target)
        }
        _ = rename(layout.spoolSidecar(id), DropName.sidecar(for: target))
        return try await reject(id: id, profileName: profileName, name: name, at: target, report: report, summary: summary)
    }

    private func reject(id: String, profileName: String, name: String, at target: String, report: String, summary: String) async throws(StoreError) -> Outcome {
        let reportPath = target + ".report.txt"
        do {
            try report.write(toFile: reportPath, atomically: true, encoding: .utf8)
        } catch {
            logger.error("cannot write the rejection report \(reportPath): \(error)", metadata: ["workflow_id": "\(id)"])
        }
        // The rejection and its notification are committed together.
        let notifications = NotificationFacts.rejection(workflowID: id, profile: profileName, dropName: name, problem: summary,
                                                        report: reportPath, channels: await notificationChannels())
        _ = try await store.advance(WorkflowStep(id: id, from: .claimed, to: .rejected, context: WorkflowContext(),
                                                 message: "rejected: \(summary)", failure: summary, notifications: notifications))
        Receipt(workflowID: id, stage: "rejected", detail: summary, report: reportPath).write(folder: layout.profileFolder(profileName), dropName: name)
        logger.error("drop rejected: \(profileName)/\(name): \(summary); report: \(reportPath)", metadata: [
            LogMessageID.dropRejected.metadata.key: "\(LogMessageID.dropRejected.rawValue)",
            "workflow_id": "\(id)", "profile": "\(profileName)", "drop_file": "\(name)", "stage": "rejected",
        ])
        return .rejected(id, reportPath: reportPath)
    }

    /// Settles claims a crash interrupted between recording and renaming.
    func recover() async throws(StoreError) {
        for workflow in try await store.workflows(in: [.claiming]) {
            if DropKind.inspect(workflow.spoolPath) != .gone {
                _ = try await store.transition(id: workflow.id, from: .claiming, to: .claimed, event: "claim completed after a restart", failure: nil)
                if workflow.spoolPath.hasPrefix(layout.spool + "/") {
                    // Validated again below by the caller's resume of claimed workflows.
                    continue
                }
                _ = try await store.transition(id: workflow.id, from: .claimed, to: .rejected,
                                               event: "rejected at claim time, before a restart", failure: "rejected at claim time (see the journal)")
            } else {
                try await store.abandonClaim(id: workflow.id)
                logger.info("an interrupted claim of \(workflow.profile)/\(workflow.dropName) was rolled back; the drop stays in the inbox")
            }
        }
    }

    /// Validates drops whose workflow was claimed but not yet validated when the daemon stopped.
    func resumeClaimed(profiles: [String: ResolvedProfile], today: String) async throws(StoreError) {
        for workflow in try await store.workflows(in: [.claimed]) where workflow.spoolPath.hasPrefix(layout.spool + "/") {
            guard let profile = profiles[workflow.profile] else { continue }
            let sidecar = layout.spoolSidecar(workflow.id)
            _ = try await validate(id: workflow.id, profileName: workflow.profile, name: workflow.dropName, profile: profile,
                                   sidecarPath: DropKind.inspect(sidecar) == .gone ? nil : sidecar, today: today)
        }
    }
}
