import AdapterKit
import FinetunedAdapters
import FinetunedConfig
import FinetunedFaults
import FinetunedSystemd
import FinetunedText
import FinetunedThreads
import FinetunedValidation
import FinetunedWorkflow
import Foundation
import Logging
import Metrics

/// Claims one drop, then admits it: its bytes copied into the spool and validated, leaving it
/// either validated (its workflow waiting for the engine) or in rejected/ with its report.
/// Nothing a submitter handed over is ever deleted before it is safely copied.
///
/// The claim is crash-safe: the workflow is recorded as `claiming` before the rename and as
/// `claimed` after it, and `recover()` settles a claim interrupted between the two, so a drop
/// is always either still in the inbox or owned by exactly one workflow. The claim is a rename
/// and a few `fstatat`s: cheap enough for the inbox's actor. Admission reads whole files and
/// runs on a thread of its own.
struct DropProcessor: Sendable {
    let layout: InboxLayout
    let store: any WorkflowStore
    let logger: Logger
    let requireGroup: Bool
    /// The notification channels configured now (a rejection is notified like an outcome).
    var notificationChannels: @Sendable () async -> [String] = { ["log"] }

    enum Outcome: Equatable {
        /// In the spool, waiting for admission.
        case claimed(String)
        case validated(String)
        case rejected(String, reportPath: String)
        case vanished
        case ignored(String)
    }

    /// Moves `name` (and its companions) from the profile folder into the spool.
    func claim(profileName: String, name: String, folder: DirectoryHandle, spool: DirectoryHandle) async throws(StoreError) -> Outcome {
        guard let entry = folder.status(name) else { return .vanished }
        let id = WorkflowRecord.newID()
        let now = Date()
        try await store.insert(
            WorkflowRecord(
                id: id, profile: profileName, dropName: name, sha256: nil, spoolPath: layout.claimedPath(id),
                stage: .claiming, createdAt: now, updatedAt: now, ownerUID: UInt32(entry.st_uid)),
            event: "claiming \(profileName)/\(OneLine.of(name, limit: 200))")
        do {
            try folder.move(name, to: spool, as: InboxLayout.claimedName(id))
        } catch {
            try await store.abandonClaim(id: id)
            if error.code == .ENOENT { return .vanished }
            logger.error(
                "cannot claim \(profileName)/\(OneLine.of(name, limit: 200)): \(error.localizedDescription)",
                metadata: ["drop_file": "\(name)", "profile": "\(profileName)"])
            return .ignored(error.localizedDescription)
        }
        // A companion is the drop owner's only if that user put it there: the folder is
        // sticky, so nobody else can have renamed or replaced it, but anyone may have made
        // a file of that name first. One owned by someone else stays where it is.
        if DropName.problem(with: name) == nil {
            for companion in Companion.allCases {
                let companionName = companion.name(for: name)
                guard let st = folder.status(companionName), st.st_uid == entry.st_uid else { continue }
                try? folder.move(companionName, to: spool, as: InboxLayout.claimedName(id, companion))
            }
        }
        _ = try await store.transition(id: id, from: .claiming, to: .claimed, event: "moved into the spool", failure: nil)
        Receipt(workflowID: id, stage: "claimed").write(in: folder, dropName: name)
        Counter(label: "finetuned_drops_total", dimensions: [("profile", profileName), ("outcome", "claimed")]).increment()
        return .claimed(id)
    }

    /// Copies and validates a claimed drop on a thread of its own; `folder` is where its
    /// receipt goes (nil when the profile folder cannot be used now).
    func admit(id: String, profile: ResolvedProfile?, folder: DirectoryHandle?, spool: DirectoryHandle, today: String) async throws(StoreError)
        -> Outcome
    {
        guard let record = try await store.workflow(id: id), record.stage == .claimed else { return .ignored("\(id) is not claimed") }
        let name = record.dropName
        var early: [String] = []
        if let problem = DropName.problem(with: name) { early.append("the drop was not taken: \(problem)") }
        guard let profile, early.isEmpty else {
            if profile == nil { early.append("profile '\(record.profile)' is not usable (see the daemon's log for the configuration error)") }
            return try await reject(
                record, folder: folder, spool: spool, fromDrop: [], report: early.joined(separator: "\n") + "\n", summary: early[0])
        }
        let admission = DropAdmission(
            layout: layout, spool: spool, workflowID: id, name: name, profile: profile,
            ownerUID: record.ownerUID, requireGroup: requireGroup, today: today)
        let worker = SerialWorker(name: "finetuned-admit")
        var result: DropAdmission.Result
        let delay = Faults.current.admissionDelay
        do {
            result = try await worker.run {
                if delay > .zero { Thread.sleep(forTimeInterval: delay.seconds) }
                return admission.run()
            }
        } catch {
            result = DropAdmission.Result(problems: ["the drop could not be checked: \(error)"])
        }
        // What was copied is the daemon's now; the submitter's inode is not used again.
        if spool.status(id + ".jsonl") != nil {
            try await store.recordLocation(id: id, path: layout.spoolFile(id))
            spool.remove(InboxLayout.claimedName(id))
        }
        for companion in Companion.allCases where spool.status(id + companion.suffix) != nil {
            spool.remove(InboxLayout.claimedName(id, companion))
        }
        if let digest = result.digest { try await store.recordDigest(id: id, sha256: digest) }
        if result.isValid, let digest = result.digest, !result.sidecar.force,
            let twin = try await store.liveWorkflow(sha256: digest, profile: record.profile), twin.id != id
        {
            result.report?.add(
                ValidationProblem(
                    .error, .duplicateRecord, line: 0,
                    "the same bytes are already being processed by workflow \(twin.id) (\(twin.stage.rawValue)); set force = true in \(DropName.sidecar(for: name)) to run them again"
                ))
        }
        guard let report = result.report, result.isValid else {
            // The first error at a line says more than a count that follows from it.
            let errors = result.report?.problems.filter { $0.severity == .error } ?? []
            let first =
                result.problems.first.map { String($0.prefix { $0 != "\n" }) }
                ?? (errors.first { $0.line > 0 } ?? errors.first).map { $0.formatted(file: name) } ?? "invalid"
            var text = result.problems.map { $0 + "\n" }.joined()
            if let report = result.report { text += (text.isEmpty ? "" : "\n") + report.text() }
            for other in result.otherReports { text += "\n" + other }
            return try await reject(record, folder: folder, spool: spool, fromDrop: result.fromDrop, report: text, summary: first)
        }
        let archive = layout.archiveFolder(id)
        try? FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        try? report.text().write(toFile: archive + "/validation-report.txt", atomically: true, encoding: .utf8)
        // The same for the workflow's report (records, tokens, cost, warnings), as JSON.
        try? JSONEncoder().encode(report).write(to: URL(fileURLWithPath: archive + "/validation-report.json"), options: .atomic)
        let summary = "\(report.records) records, about \(report.estimatedTrainingTokens) training tokens"
        _ = try await store.transition(id: id, from: .claimed, to: .validated, event: "valid: \(summary)", failure: nil)
        Counter(label: "finetuned_drops_total", dimensions: [("profile", record.profile), ("outcome", "validated")]).increment()
        if let folder { Receipt(workflowID: id, stage: "validated", detail: summary).write(in: folder, dropName: name) }
        logger.notice(
            "drop accepted: \(record.profile)/\(name) (\(summary))",
            metadata: [
                LogMessageID.dropAccepted.metadata.key: "\(LogMessageID.dropAccepted.rawValue)",
                "workflow_id": "\(id)", "profile": "\(record.profile)", "drop_file": "\(name)", "stage": "validated",
            ])
        return .validated(id)
    }

    /// Moves a claimed drop and the companions it brought from the spool to rejected/ (the
    /// daemon's copy where there is one, else the file as claimed), with its report. Copies
    /// of sets the operator configured are the daemon's own and are dropped.
    private func reject(
        _ record: WorkflowRecord, folder: DirectoryHandle?, spool: DirectoryHandle, fromDrop: Set<Companion>,
        report: String, summary: String
    ) async throws(StoreError) -> Outcome {
        let id = record.id
        // A name that cannot be shown is not used for the file either.
        let safeName = DropName.problem(with: record.dropName) == nil ? record.dropName : id + ".jsonl"
        let target: String
        do { target = try layout.rejectionTarget(profile: record.profile, name: safeName) } catch {
            logger.error("cannot find a free name in rejected/ for \(safeName): \(error)")
            return .ignored("no room in rejected/")
        }
        let rejected = (target as NSString).lastPathComponent
        let data = spool.status(id + ".jsonl") != nil ? id + ".jsonl" : InboxLayout.claimedName(id)
        if spool.status(data) != nil {
            if rename(spool.path(of: data), target) != 0 {
                logger.error("cannot move \(safeName) to \(target): \(String(cString: strerror(errno)))", metadata: ["workflow_id": "\(id)"])
            } else {
                try await store.recordLocation(id: id, path: target)
            }
        }
        let folderOfTarget = (target as NSString).deletingLastPathComponent
        for companion in Companion.allCases {
            let copy = id + companion.suffix
            if fromDrop.contains(companion) {
                let source = spool.status(copy) != nil ? copy : InboxLayout.claimedName(id, companion)
                _ = rename(spool.path(of: source), folderOfTarget + "/" + companion.name(for: rejected))
            } else if companion != .sidecar {
                spool.remove(copy)
            }
        }
        return try await settleRejection(record, folder: folder, at: target, report: report, summary: summary)
    }

    private func settleRejection(_ record: WorkflowRecord, folder: DirectoryHandle?, at target: String, report: String, summary: String)
        async throws(StoreError) -> Outcome
    {
        let id = record.id, profileName = record.profile, name = OneLine.of(record.dropName, limit: 200)
        let reportPath = target + ".report.txt"
        do {
            try report.write(toFile: reportPath, atomically: true, encoding: .utf8)
        } catch {
            logger.error("cannot write the rejection report \(reportPath): \(error)", metadata: ["workflow_id": "\(id)"])
        }
        // The rejection and its notification are committed together.
        let notifications = NotificationFacts.rejection(
            workflowID: id, profile: profileName, dropName: name, problem: summary,
            report: reportPath, channels: await notificationChannels())
        _ = try await store.advance(
            WorkflowStep(
                id: id, from: .claimed, to: .rejected, context: WorkflowContext(),
                message: "rejected: \(summary)", failure: summary, notifications: notifications))
        if let folder {
            Receipt(workflowID: id, stage: "rejected", detail: summary, report: reportPath).write(in: folder, dropName: record.dropName)
        }
        logger.error(
            "drop rejected: \(profileName)/\(name): \(summary); report: \(reportPath)",
            metadata: [
                LogMessageID.dropRejected.metadata.key: "\(LogMessageID.dropRejected.rawValue)",
                "workflow_id": "\(id)", "profile": "\(profileName)", "drop_file": "\(name)", "stage": "rejected",
            ])
        Counter(label: "finetuned_drops_total", dimensions: [("profile", record.profile), ("outcome", "rejected")]).increment()
        return .rejected(id, reportPath: reportPath)
    }

    /// Settles claims a crash interrupted between recording and renaming.
    func recover() async throws(StoreError) {
        for workflow in try await store.workflows(in: [.claiming]) {
            var st = stat()
            if lstat(workflow.spoolPath, &st) == 0 {
                _ = try await store.transition(id: workflow.id, from: .claiming, to: .claimed, event: "claim completed after a restart", failure: nil)
                if workflow.spoolPath.hasPrefix(layout.spool + "/") {
                    // Admitted again by the inbox, like every claimed workflow.
                    continue
                }
                // Claimed straight into rejected/ by an older version.
                _ = try await store.transition(
                    id: workflow.id, from: .claimed, to: .rejected,
                    event: "rejected at claim time, before a restart", failure: "rejected at claim time (see the journal)")
            } else {
                try await store.abandonClaim(id: workflow.id)
                logger.info(
                    "an interrupted claim of \(workflow.profile)/\(OneLine.of(workflow.dropName, limit: 200)) was rolled back; the drop stays in the inbox"
                )
            }
        }
    }

    /// The workflows claimed but not yet admitted when the daemon stopped, oldest first.
    func claimedWorkflows() async throws(StoreError) -> [WorkflowRecord] {
        try await store.workflows(in: [.claimed]).filter { $0.spoolPath.hasPrefix(layout.spool + "/") }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }
}
