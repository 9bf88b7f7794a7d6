import FinetunedConfig
import FinetunedFaults
import FinetunedSystemd
import FinetunedText
import FinetunedTime
import FinetunedWorkflow
import Foundation
import Logging
import ServiceLifecycle

/// Delivers what the outbox holds, once per entry and channel, retrying failed deliveries
/// with backoff until a deadline. Entries are committed with the transition they report, so
/// a crash before delivery only delays them: the next start delivers them.
///
/// It sleeps until poked or until the earliest retry is due; with nothing pending it has no
/// timer at all.
public actor OutboxDispatcher: Service, CustomStringConvertible {
    /// The name the service group logs it by, like the other services'.
    public nonisolated var description: String { "outbox" }

    /// One way out: the journal today; email, webhooks and SES plug in here.
    public protocol Channel: Sendable {
        var name: String { get }
        func deliver(_ entry: OutboxEntry, facts: NotificationFacts?) async throws
    }

    let store: any WorkflowStore
    let logger: Logger
    let retry = Backoff(initial: .seconds(30), maximum: .seconds(3600))
    /// How long a notification is retried before it is logged as undeliverable.
    let deadline: TimeInterval = 24 * 3600
    private var channels: [String: any Channel]
    private let pokes: AsyncStream<Void>
    private let poker: AsyncStream<Void>.Continuation

    /// Test only: crash between "committed" and "sent".

    public init(store: any WorkflowStore, logger: Logger, channels: [any Channel]) {
        self.store = store
        self.logger = logger
        self.channels = Dictionary(channels.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        (pokes, poker) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public nonisolated func poke() { poker.yield() }

    /// A reload may add or remove channels; entries for a removed one fail until their deadline.
    public func update(channels: [any Channel]) {
        self.channels = Dictionary(channels.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        poke()
    }

    /// The channels a configuration asks for, the journal always among them.
    public static func channels(for settings: NotificationSettings, logger: Logger) -> [any Channel] {
        var channels: [any Channel] = [LogChannel(logger: logger)]
        if let maildir = settings.maildir { channels.append(MaildirChannel(path: maildir)) }
        if let email = settings.email { channels.append(EmailChannel(settings: email)) }
        if let webhook = settings.webhook { channels.append(WebhookChannel(settings: webhook)) }
        if let ses = settings.ses { channels.append(SESChannel(settings: ses)) }
        return channels
    }

    public func run() async throws {
        var nextDue: Date? = Date()
        await withGracefulShutdownHandler {
            var iterator = pokes.makeAsyncIterator()
            while !Task.isCancelled {
                if let due = nextDue, due <= Date() {
                    nextDue = await deliverDue()
                    continue
                }
                // Wait for a poke, or for the earliest retry if one is pending; a poke first
                // calls the retry's timer off (the delivery pass sets the next one).
                let poker = self.poker
                let retry = nextDue.map { due in Timers.schedule(after: .fractionalSeconds(due.timeIntervalSinceNow)) { poker.yield() } }
                let poked = await iterator.next() != nil
                retry?.cancel()
                guard poked else { break }
                nextDue = Date()
            }
        } onGracefulShutdown: {
            self.poker.finish()
        }
    }

    /// Delivers every entry that is due; returns when the next retry is due, if any.
    func deliverDue() async -> Date? {
        let pending: [OutboxEntry]
        do { pending = try await store.pendingNotifications() } catch {
            logger.error("cannot read the notification outbox: \(error)")
            return Date().addingTimeInterval(retry.initial.seconds)
        }
        var next: Date?
        for listed in pending {
            if let due = listed.nextAttemptAt, due > Date() {
                next = min(next ?? due, due)
                continue
            }
            // Daemons sharing a store each see every pending entry: the one that claims it
            // delivers it, and the others pass (until the claim runs out, if it never finishes).
            guard let id = listed.id, var entry = await claim(id) else { continue }
            let facts = NotificationFacts.decode(entry.payload)
            entry.attempts += 1
            do {
                guard let channel = channels[entry.channel] else {
                    throw Failure(.notification, "no notification channel '\(entry.channel)' is configured now")
                }
                Faults.current.deliveryStarting(channel: entry.channel)
                try await channel.deliver(entry, facts: facts)
                entry.deliveredAt = Date()
                entry.lastError = nil
            } catch {
                entry.lastError = "\(error)"
                if Date().timeIntervalSince(entry.createdAt) > deadline {
                    entry.givenUpAt = Date()
                    logger.error(
                        "notification undeliverable over \(entry.channel) after \(entry.attempts) attempts: \(error); it said: \(facts?.headline ?? entry.kind)",
                        metadata: ["workflow_id": "\(entry.workflowID ?? "")", "channel": "\(entry.channel)"])
                } else {
                    let due = Date().addingTimeInterval(retry.delay(attempt: entry.attempts - 1).seconds)
                    entry.nextAttemptAt = due
                    next = min(next ?? due, due)
                    logger.warning(
                        "notification over \(entry.channel) failed (attempt \(entry.attempts)), retrying: \(error)",
                        metadata: ["workflow_id": "\(entry.workflowID ?? "")", "channel": "\(entry.channel)"])
                }
            }
            do { try await store.updateNotification(entry) } catch {
                logger.error("cannot record a notification's delivery: \(error)")
            }
        }
        return next
    }

    /// Long enough for any channel's attempt (SMTP's and HTTP's time limits are shorter).
    static let claimLength: Duration = .seconds(300)

    private func claim(_ id: Int64) async -> OutboxEntry? {
        do { return try await store.claimNotification(id: id, duration: Self.claimLength) } catch {
            logger.error("cannot claim notification \(id): \(error)")
            return nil
        }
    }
}

/// Notifications as journal entries: always configured, and what the other channels add to.
struct LogChannel: OutboxDispatcher.Channel {
    let logger: Logger
    var name: String { "log" }

    func deliver(_ entry: OutboxEntry, facts: NotificationFacts?) async throws {
        var metadata: Logger.Metadata = ["notification": "\(entry.kind)"]
        if let id = entry.workflowID { metadata["workflow_id"] = "\(id)" }
        if let facts { metadata["profile"] = "\(facts.profile)" }
        if let scores = facts?.scores {
            metadata["f1_custom"] = "\(String(format: "%.4f", scores.meanCustomF1))"
            metadata["f1_base"] = "\(String(format: "%.4f", scores.meanBaseF1))"
        }
        let level: Logger.Level = entry.kind == "failed" || entry.kind.hasPrefix("janitor") || entry.kind == "cleanup_stuck" ? .error : .notice
        logger.log(level: level, "finetuned: \(facts?.headline ?? entry.kind)", metadata: metadata)
    }
}
