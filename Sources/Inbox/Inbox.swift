import FinetunedAdapters
import FinetunedConfig
import FinetunedTime
import FinetunedWorkflow
import Foundation
import Logging

/// Watches `<inbox>/<profile>/` with inotify and hands every drop to the `DropProcessor`.
///
/// On start, after a queue overflow and after a reload it rescans everything, so a drop made
/// while the daemon was down, or lost to an overflow, is still found. Drops are processed one
/// at a time in arrival order.
public actor Inbox {
    let layout: InboxLayout
    let processor: DropProcessor
    let logger: Logger
    let profiles: @Sendable () async -> [String: ResolvedProfile]
    let today: @Sendable () -> String
    let watcherReadDelay: Duration
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

    static let fileEvents = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)
    static let rootEvents = UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_CLOSE_WRITE)

    public init(
        layout: InboxLayout, store: any WorkflowStore, requireGroup: Bool, logger: Logger,
        profiles: @escaping @Sendable () async -> [String: ResolvedProfile],
        today: @escaping @Sendable () -> String = LifecycleCalendar.today, watcherReadDelay: Duration = .zero,
        onProcessed: @escaping @Sendable () async -> Void = {},
        onStoreTrouble: @escaping @Sendable (String?) async -> Void = { _ in },
        notificationChannels: @escaping @Sendable () async -> [String] = { ["log"] }
    ) {
        self.onProcessed = onProcessed
        self.onStoreTrouble = onStoreTrouble
        self.watcherReadDelay = watcherReadDelay
        self.layout = layout
        self.processor = DropProcessor(layout: layout, store: store, logger: logger, requireGroup: requireGroup,
                                       notificationChannels: notificationChannels)
        self.logger = logger
        self.profiles = profiles
        self.today = today
    }

    /// Runs until cancelled; `ready` is called once the inbox is watched and every drop that
    /// waited (and every interrupted claim) has been handled.
    public func run(ready: @Sendable () async -> Void) async throws {
        let watcher = try InotifyWatcher(readDelay: watcherReadDelay)
        self.watcher = watcher
        defer { watcher.stop() }
        do {
            try await processor.recover()
            try await resync()
            try await processor.resumeClaimed(profiles: await profiles(), today: today())
        } catch let error as StoreError {
            // Readable but not writable (a full or read-only disk): run, say so, take no drops.
            await storeFailed(error)
        }
        await ready()
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
        recovery?.cancel()
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
        } catch let error as StoreError {
            storeTrouble = "the workflow store cannot be written (\(error)); new drops wait in the inbox until it can"
            return false
        } catch {
            logger.error("inbox: \(error)")
        }
        logger.notice("the workflow store accepts writes again; taking drops")
        await onStoreTrouble(nil)
        return true
    }

    /// Creates and watches a folder for every profile, then claims whatever is waiting.
    public func resync() async throws {
        guard let watcher else { return }
        let current = await profiles()
        do {
            try layout.prepare(profiles: Array(current.keys))
        } catch {
            logger.error("cannot prepare the inbox folders under \(layout.inbox): \(error)")
        }
        if rootWatch < 0 { rootWatch = try watcher.add(directory: layout.inbox, mask: Self.rootEvents) }
        for name in current.keys.sorted() where !folders.values.contains(name) {
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
    func rescan() async throws {
        let current = await profiles()
        for profile in current.keys.sorted() {
            let folder = layout.profileFolder(profile)
            Receipt.removeStale(folder: folder)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            let drops = names.filter(DropName.isDrop).map { name -> (String, Int) in
                var st = stat()
                lstat(folder + "/" + name, &st)
                return (name, Int(st.st_mtim.tv_sec))
            }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
            for (name, _) in drops {
                try await claim(profile: profile, name: name, profiles: current)
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
            if event.isDirectory, (await profiles())[event.name] != nil, event.mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
                try await resync()
            } else if !event.isDirectory, DropName.isDrop(event.name), !warnedRootFiles.contains(event.name) {
                warnedRootFiles.insert(event.name)
                logger.warning("\(event.name) was dropped in the inbox itself; drops go to \(layout.inbox)/<profile>/")
            }
            return
        }
        if event.mask & UInt32(IN_IGNORED) != 0 {
            folders[event.watch] = nil
            return
        }
        guard let profile = folders[event.watch], DropName.isDrop(event.name) else { return }
        // A regular file announces itself when it is closed or moved in; creation alone means
        // it is still being written. Links, FIFOs and folders never close: take them at creation.
        if event.mask & UInt32(IN_CREATE) != 0 && !event.isDirectory {
            if case .regular = DropKind.inspect(layout.profileFolder(profile) + "/" + event.name) { return }
        }
        try await claim(profile: profile, name: event.name, profiles: await profiles())
    }

    private func claim(profile: String, name: String, profiles: [String: ResolvedProfile]) async throws {
        let outcome = try await processor.process(profileName: profile, name: name, profile: profiles[profile], today: today())
        if outcome != .vanished { await onProcessed() }
    }
}
