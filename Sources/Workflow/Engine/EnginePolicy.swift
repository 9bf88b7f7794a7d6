import Foundation

/// The engine's pacing and cost guards, from `[engine]` and `[limits]` of the configuration.
public struct EnginePolicy: Sendable, Equatable {
    public var jobPoll: Backoff
    public var throughputPoll: Backoff
    public var retry: Backoff
    public var stepAttempts: Int
    public var trainingDeadline: Duration
    public var throughputDeadline: Duration
    public var invokeTimeout: Duration
    public var invokeAttempts: Int
    public var maxConcurrentWorkflows: Int
    public var maxLiveThroughputs: Int
    /// Custom model deployments alive at once (they bill per token, but have a quota).
    public var maxLiveDeployments: Int
    /// How long an unkept throughput may live before it is deleted whatever the workflow does.
    public var maxUnkeptThroughputAge: Duration
    /// How long after its creation a resource the service says it does not know is looked
    /// for again (AWS is eventually consistent) instead of being declared gone.
    public var notFoundGrace: Duration
    /// How long a node's lease on a workflow lasts; renewed at a third of it on a shared store.
    public var lease: Duration

    public init(
        jobPoll: Backoff = Backoff(initial: .seconds(60), maximum: .seconds(600)),
        throughputPoll: Backoff = Backoff(initial: .seconds(30), maximum: .seconds(600)),
        retry: Backoff = Backoff(initial: .seconds(2), maximum: .seconds(300)), stepAttempts: Int = 8,
        trainingDeadline: Duration = .seconds(48 * 3600), throughputDeadline: Duration = .seconds(90 * 60),
        invokeTimeout: Duration = .seconds(120), invokeAttempts: Int = 4, maxConcurrentWorkflows: Int = 4,
        maxLiveThroughputs: Int = 2, maxUnkeptThroughputAge: Duration = .seconds(6 * 3600),
        notFoundGrace: Duration = .seconds(120), maxLiveDeployments: Int = 4, lease: Duration = .seconds(30)
    ) {
        self.lease = lease
        self.notFoundGrace = notFoundGrace
        self.maxLiveDeployments = maxLiveDeployments
        self.jobPoll = jobPoll
        self.throughputPoll = throughputPoll
        self.retry = retry
        self.stepAttempts = stepAttempts
        self.trainingDeadline = trainingDeadline
        self.throughputDeadline = throughputDeadline
        self.invokeTimeout = invokeTimeout
        self.invokeAttempts = invokeAttempts
        self.maxConcurrentWorkflows = maxConcurrentWorkflows
        self.maxLiveThroughputs = maxLiveThroughputs
        self.maxUnkeptThroughputAge = maxUnkeptThroughputAge
    }
}
