import FinetunedText

/// What performing one action produced, before it is recorded.
enum StepOutcome: Sendable {
    /// Feed this event to the machine and commit the step.
    case event(WorkflowMachine.Event, message: String, resources: [ResourceChange] = [], notifications: [OutboxEntry] = [])
    /// Nothing changed: ask again after this long.
    case wait(Duration)
    /// The service reported a new status without a stage change: record it (one journal line
    /// per change, not per poll), then wait.
    case status(String, thenWait: Duration)
}
