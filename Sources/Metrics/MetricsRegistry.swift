import FinetunedWorkflow
import Foundation
import Metrics
import Prometheus

/// The daemon's metrics, in Prometheus's text format.
///
/// The code records through swift-metrics (`Counter`, `Timer`, …) wherever something
/// happens: drops claimed and rejected, validation, backend calls, AWS retries, tokens,
/// store commits. What is a state rather than an event (workflows by stage, billable
/// resources alive and the oldest one's age, the outbox's backlog) is read from the store at
/// each scrape, so it is right after a restart and agrees with `finetunectl status`.
public final class MetricsRegistry: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// The process's one registry: swift-metrics is bootstrapped once per process.
    public static let shared: MetricsRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Backend calls take from milliseconds (a lookup) to minutes (an upload, a slow model).
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        ]
        MetricsSystem.bootstrap(factory)
        return MetricsRegistry(registry: registry)
    }()

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// The exposition, with the store's state read now. A store that fails to answer leaves
    /// the state gauges as they were and counts the failure, rather than failing the scrape.
    public func exposition(store: any WorkflowStore, now: Date = Date()) async -> [UInt8] {
        do {
            let counts = try await store.stageCounts()
            for stage in WorkflowStage.allCases {
                Gauge(label: "finetuned_workflows", dimensions: [("stage", stage.rawValue)]).record(counts[stage] ?? 0)
            }
            let live = try await store.liveResources()
            for kind in ResourceRecord.Kind.allCases {
                let alive = live.filter { $0.kind == kind }
                Gauge(label: "finetuned_billable_resources", dimensions: [("kind", kind.rawValue)]).record(alive.count)
                let oldest = alive.map { now.timeIntervalSince($0.createdAt) }.max() ?? 0
                Gauge(label: "finetuned_billable_resource_oldest_age_seconds", dimensions: [("kind", kind.rawValue)]).record(max(0, oldest))
            }
            Gauge(label: "finetuned_outbox_backlog").record(try await store.pendingNotifications().count)
        } catch {
            Counter(label: "finetuned_metrics_store_failures_total").increment()
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
