import FinetunedAdapters
import FinetunedConfig
import FinetunedFaults
import FinetunedText
import FinetunedTime
import FinetunedWorkflow
import Foundation
import Logging

/// Watches `<inbox>/<profile>/` with inotify and hands every drop to the `DropProcessor`.
///
/// On start, after a queue overflow and after a reload it rescans everything, so a drop made
/// while the daemon was down, or lost to an overflow, is still found. Drops are claimed one
/// at a time in arrival order, at once; admission (the copy and the validation, which read
/// whole files) runs for up to `concurrentAdmissions` drops at a time on threads of their own,
/// so a huge or hostile file never holds up claims, the control socket or READY=1.
public actor Inbox {
    let layout: InboxLayout
    let processor: DropProcessor
    let logger: Logger
    let profiles: @Sendable () async -> [String: ResolvedProfile]
    let today: @Sendable () -> String
    let onProcessed: @Sendable () async -> Void
    /// Told when the store stops (a message) or starts again (nil) accepting writes.
    let onStoreTrouble: @Sendable (String?) async -> Void
    /// Why the store refused the last write: drops wait in the inbox until it accepts again.
    private(set) var storeTrouble: String?
    private var recovery: Task<Void, Never>?
    private var watcher: InotifyWatcher?
    private var folders: [Int32: String] = [:]
    private var rootWatch: Int32 = -1
    private var warnedRootFiles: Set<String> = []
    /// The inbox's folders, open by descriptor (see `DirectoryHandle`).
    private var opened: InboxLayout.Opened?
    /// Profile folders that could not be used, reported once per reason.
    private var reportedFolders: [String: String] = [:]
    private var admissionQueue: AsyncStream<Admission>.Continuation?
    private var queued: Set<String> = []

    struct Admission: Sendable {
        var workflowID: String
        var profile: String
    }

    static let concurrentAdmissions = 2

    static let fileEvents = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
    static let rootEvents = UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_CLOSE_WRITE)

    public init(
        layout: InboxLayout, store: any WorkflowStore, requireGroup: Bool, logger: Logger,
        profiles: @escaping @Sendable () async -> [String: ResolvedProfile],
        today: @escaping @Sendable () -> String = LifecycleCalendar.today,
        onProcessed: @escaping @Sendable () async -> Void = {},
        onStoreTrouble: @escaping @Sendable (String?) async -> Void = { _ in },
        notificationChannels: @escaping @Sendable () async -> [String] = { ["log"] }
    ) {
        self.onProcessed = onProcessed
        self.onStoreTrouble = onStoreTrouble
        self.layout = layout
        self.processor = DropProcessor(
            layout: layout, store: store, logger: logger, requireGroup: requireGroup,
            notificationChannels: notificationChannels)
        self.logger = logger
        self.profiles = profiles
        self.today = today
    }

    /// Runs until cancelled; `ready` is called once the inbox is watched and every drop that
    /// waited (and every interrupted claim) has been handled.
    public func run(ready: @Sendable () async -> Void) async throws {
        let watcher = try InotifyWatcher(readDelay: Faults.current.inotifyReadDelay)
        self.watcher = watcher
        defer { watcher.stop() }
        let (admissions, queue) = AsyncStream.makeStream(of: Admission.self)
        admissionQueue = queue
        do {
            try await processor.recover()
            try await resync()
            try await queueClaimed()
        } catch let error as StoreError {
            // Readable but not writable (a full or read-only disk): run, say so, take no drops.
            await storeFailed(error)
        }
        // Drops waiting for admission do not hold up readiness: they are admitted below.
        await ready()
        await withDiscardingTaskGroup { group in
            group.addTask { await self.admitAll(admissions) }
            await withTaskCancellationHandler {
                for await event in watcher.events {
                    // While the store refuses writes, drops stay where they are; the recovery
                    // pass rescans the inbox once the store accepts writes again.
                    guard storeTrouble == nil else { continue }
                    do {
                        try await handle(event)
                    } catch let error as StoreError {
                        await storeFailed(error)
                    } catch {
                        logger.error("inbox: \(error)")
                    }
                }
            } onCancel: {
                watcher.stop()
            }
            queue.finish()
        }
        recovery?.cancel()
    }

    /// Admits queued drops, `concurrentAdmissions` at a time, until the queue finishes.
    private func admitAll(_ admissions: AsyncStream<Admission>) async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await admission in admissions {
                if running >= Self.concurrentAdmissions {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.admit(admission) }
                running += 1
            }
        }
    }

    private func admit(_ admission: Admission) async {
        defer { queued.remove(admission.workflowID) }
        guard storeTrouble == nil, let spool = opened?.spool else { return }
        do {
            let outcome = try await processor.admit(
                id: admission.workflowID, profile: await profiles()[admission.profile],
                folder: opened?.folders[admission.profile], spool: spool, today: today())
            if case .ignored = outcome { return }
            await onProcessed()
        } catch {
            await storeFailed(error)
        }
    }

    private func enqueue(_ workflowID: String, profile: String) {
        guard let admissionQueue, queued.insert(workflowID).inserted else { return }
        admissionQueue.yield(Admission(workflowID: workflowID, profile: profile))
    }

    /// Queues every workflow claimed but not admitted yet (after a restart or a store outage).
    private func queueClaimed() async throws(StoreError) {
        for workflow in try await processor.claimedWorkflows() { enqueue(workflow.id, profile: workflow.profile) }
    }

    /// The store cannot be written (disk full, read-only, corrupt): stop taking drops, say so
    /// once, and try again with backoff until it works. Nothing is lost: a drop is either still
    /// in the inbox or recorded, and an interrupted claim is settled by `recover()`.
    private func storeFailed(_ error: StoreError) async {
        guard storeTrouble == nil else { return }
        let message = "the workflow store cannot be written (\(error)); new drops wait in the inbox until it can"
        storeTrouble = message
        logger.critical("\(message)")
        await onStoreTrouble(message)
        recovery = Task { [weak self] in
            var delay = 1.0
            while !Task.isCancelled {
                try? await Timers.sleep(for: .seconds(delay))
                guard let self, await self.tryRecovering() else {
                    delay = min(delay * 2, 60)
                    continue
                }
                return
            }
        }
    }

    private func tryRecovering() async -> Bool {
        do {
            try await processor.recover()
            storeTrouble = nil
            try await rescan()
            try await queueClaimed()
        } catch {
            storeTrouble = "the workflow store cannot be written (\(error)); new drops wait in the inbox until it can"
            return false
        }
        logger.notice("the workflow store accepts writes again; taking drops")
        await onStoreTrouble(nil)
        return true
    }

    /// Creates and watches a folder for every profile, then claims whatever is waiting.
    public func resync() async throws {
        guard let watcher else { return }
        let current = await profiles()
        let opened: InboxLayout.Opened
        do {
            opened = try layout.prepare(profiles: Array(current.keys))
        } catch {
            logger.error("cannot prepare the inbox folders under \(layout.inbox): \(error)")
            return
        }
        for (profile, problem) in opened.problems.sorted(by: { $0.key < $1.key }) where reportedFolders[profile] != problem {
            logger.error("profile '\(profile)' takes no drops: \(problem)", metadata: ["profile": "\(profile)"])
        }
        reportedFolders = opened.problems
        self.opened = opened
        if rootWatch < 0 { rootWatch = try watcher.add(directory: layout.inbox, mask: Self.rootEvents) }
        for (wd, name) in folders where opened.folders[name] == nil {
            watcher.remove(watch: wd)
            folders[wd] = nil
        }
        for name in opened.folders.keys.sorted() where !folders.values.contains(name) {
            do {
                let wd = try watcher.add(directory: layout.profileFolder(name), mask: Self.fileEvents)
                folders[wd] = name
            } catch {
                logger.error("cannot watch \(layout.profileFolder(name)): \(error)")
            }
        }
        try await rescan()
    }

    /// Claims every drop in every profile folder, oldest first.
    func rescan() async throws(StoreError) {
        guard let opened else { return }
        for (profile, folder) in opened.folders.sorted(by: { $0.key < $1.key }) {
            Receipt.removeStale(in: folder)
            let listing = folder.names()
            if listing.undecodable > 0 {
                logger.warning("\(folder.path) holds \(listing.undecodable) file(s) whose names are not UTF-8; they are left alone")
            }
            let drops = listing.names.filter(DropName.isDrop).map { name in
                (name, folder.status(name).map { Int($0.st_mtim.tv_sec) } ?? 0)
            }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            for (name, _) in drops {
                try await claim(profile: profile, name: name, folder: folder, spool: opened.spool)
            }
        }
    }

    private func handle(_ event: InotifyWatcher.Event) async throws {
        if event.isOverflow {
            logger.warning("inotify queue overflowed; rescanning the inbox so no drop is missed")
            try await rescan()
            return
        }
        if event.watch == rootWatch {
            if (await profiles())[event.name] != nil, event.mask & UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) != 0 {
                // A profile folder appeared, or something took its place: look again.
                try await resync()
            } else if !event.isDirectory, DropName.isDrop(event.name), !warnedRootFiles.contains(event.name) {
                warnedRootFiles.insert(event.name)
                logger.warning("\(OneLine.of(event.name, limit: 200)) was dropped in the inbox itself; drops go to \(layout.inbox)/<profile>/")
            }
            return
        }
        if event.mask & UInt32(IN_IGNORED) != 0 {
            // The folder it watched is gone (deleted, or replaced while a resync still saw
            // the old watch): look again, so a profile's new folder is watched too.
            let name = folders.removeValue(forKey: event.watch)
            if let name, (await profiles())[name] != nil { try await resync() }
            return
        }
        guard let profile = folders[event.watch], DropName.isDrop(event.name),
            let opened, let folder = opened.folders[profile]
        else { return }
        // A regular file announces itself when it is closed or moved in; creation alone means
        // it is still being written. Links, FIFOs and folders never close: take them at creation.
        if event.mask & UInt32(IN_CREATE) != 0 && !event.isDirectory {
            if let st = folder.status(event.name), EntryType(st.st_mode).isRegular { return }
        }
        try await claim(profile: profile, name: event.name, folder: folder, spool: opened.spool)
    }

    private func claim(profile: String, name: String, folder: DirectoryHandle, spool: DirectoryHandle) async throws(StoreError) {
        switch try await processor.claim(profileName: profile, name: name, folder: folder, spool: spool) {
        case .claimed(let id):
            enqueue(id, profile: profile)
            await onProcessed()
        case .vanished, .ignored, .validated, .rejected:
            break
        }
    }
}
