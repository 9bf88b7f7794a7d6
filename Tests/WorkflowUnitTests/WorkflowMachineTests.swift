import FinetunedEvaluation
import FinetunedWorkflow
import Foundation
import Testing

@Suite("Workflow state machine")
struct WorkflowMachineTests {
    typealias M = WorkflowMachine
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    static let summary = ScoreSummary(
        verdict: "keep", reason: "r", prompts: 50, excludedUnanswered: 0, excludedLeaked: 0,
        meanBaseF1: 0.6, meanCustomF1: 0.7, confidenceLow: 0.05, confidenceHigh: 0.15, winShare: 0.99)

    /// One event of every kind, with fixed payloads.
    static let events: [M.Event] = [
        .uploaded(uri: "s3://b/k"), .jobCreated(arn: "arn:job"), .jobInProgress, .jobCompleted(customModelARN: "arn:model"),
        .jobEnded(status: "Failed", message: "bad data"), .throughputCreated(arn: "arn:pt", at: Self.t0), .throughputCreating,
        .throughputInService(at: Self.t0), .throughputFailed(message: "capacity"), .inferenceStarted(.base), .inferenceStarted(.custom),
        .inferenceFinished(.base), .inferenceFinished(.custom), .scored(Self.summary), .decided(keep: true, reason: "better"),
        .decided(keep: false, reason: "worse"), .throughputDeleted, .customModelDeleted, .jobStopped, .notified, .finished,
        .stepFailed(message: "AccessDenied"), .cancelRequested,
    ]

    @Test("the happy path where the custom model is kept")
    func keptPath() throws {
        var m = M()
        #expect(m.pendingActions == [.upload])
        #expect(try m.handle(.uploaded(uri: "s3://b/k")) == [.createJob])
        #expect(try m.handle(.jobCreated(arn: "arn:job")) == [.pollJob])
        #expect(try m.handle(.jobInProgress) == [.pollJob])
        #expect(m.stage == .training)
        #expect(try m.handle(.jobInProgress) == [.pollJob])
        #expect(try m.handle(.jobCompleted(customModelARN: "arn:model")) == [.createThroughput])
        #expect(try m.handle(.throughputCreated(arn: "arn:pt", at: Self.t0)) == [.pollThroughput])
        #expect(try m.handle(.throughputCreating) == [.pollThroughput])
        #expect(try m.handle(.throughputInService(at: Self.t0)) == [.runInference(.base)])
        #expect(m.context.throughputInServiceAt == Self.t0)
        #expect(m.stage == .inService)
        #expect(try m.handle(.inferenceStarted(.base)) == [.runInference(.base)])
        #expect(try m.handle(.inferenceFinished(.base)) == [.runInference(.custom)])
        #expect(try m.handle(.inferenceFinished(.custom)) == [.score])
        #expect(m.stage == .customInference)
        #expect(try m.handle(.scored(Self.summary)) == [.decide])
        #expect(m.stage == .scored)
        #expect(try m.handle(.decided(keep: true, reason: "+0.05 F1, 99%")) == [.notify(.kept)])
        #expect(try m.handle(.notified) == [.finish])
        #expect(try m.handle(.finished) == [])
        #expect(m.stage == .done)
        #expect(m.context.throughputARN == "arn:pt" && !m.context.throughputDeleted)
    }

    @Test("not better: the throughput and then the custom model are deleted before the notification")
    func notKeptPath() throws {
        var m = M(
            stage: .scored,
            context: {
                var c = WorkflowContext()
                c.jobARN = "arn:job"
                c.customModelARN = "arn:model"
                c.throughputARN = "arn:pt"
                return c
            }())
        #expect(try m.handle(.decided(keep: false, reason: "no better")) == [.deleteThroughput])
        #expect(m.stage == .decided)
        #expect(try m.handle(.throughputDeleted) == [.deleteCustomModel])
        #expect(try m.handle(.customModelDeleted) == [.notify(.notKept)])
        #expect(try m.handle(.notified) == [.finish])
        #expect(try m.handle(.finished) == [])
        #expect(m.stage == .done)

        var keeping = M(
            stage: .scored,
            context: {
                var c = WorkflowContext(keepRejectedModels: true)
                c.customModelARN = "arn:model"
                c.throughputARN = "arn:pt"
                return c
            }())
        _ = try keeping.handle(.decided(keep: false, reason: "no better"))
        #expect(try keeping.handle(.throughputDeleted) == [.notify(.notKept)], "keep_rejected_models keeps the custom model")
    }

    @Test("keep = model_only: a kept model's deployment (or throughput) is deleted before the notification; the model stays")
    func keptModelOnly() throws {
        for serving in Serving.allCases {
            var m = M(
                stage: .scored,
                context: {
                    var c = WorkflowContext()
                    c.spec = Self.spec(serving: serving, keepServing: false)
                    c.jobARN = "arn:job"
                    c.customModelARN = "arn:model"
                    c.throughputARN = "arn:serving"
                    return c
                }())
            #expect(try m.handle(.decided(keep: true, reason: "better")) == [.deleteThroughput])
            #expect(m.stage == .kept)
            #expect(try m.handle(.throughputDeleted) == [.notify(.kept)])
            #expect(m.context.throughputDeleted && !m.context.customModelDeleted)
            #expect(try m.handle(.notified) == [.finish])
        }
        var keeping = M(
            stage: .scored,
            context: {
                var c = WorkflowContext()
                c.spec = Self.spec(serving: .onDemand, keepServing: true)
                c.customModelARN = "arn:model"
                c.throughputARN = "arn:deployment"
                return c
            }())
        #expect(try keeping.handle(.decided(keep: true, reason: "better")) == [.notify(.kept)], "the default keeps what serves it")
        #expect(throws: M.TransitionError.self) { try keeping.handle(.throughputDeleted) }
    }

    @Test("a failed job while training: nothing to stop or delete but the notification")
    func jobFails() throws {
        var m = M(
            stage: .training,
            context: {
                var c = WorkflowContext()
                c.jobARN = "arn:job"
                return c
            }())
        #expect(try m.handle(.jobEnded(status: "Failed", message: "Maximum input token count 4919 exceeds limit of 4096")) == [.notify(.failed)])
        #expect(m.context.failureReason == "the customization job ended Failed: Maximum input token count 4919 exceeds limit of 4096")
        #expect(try m.handle(.notified) == [])
        #expect(m.stage == .failed)
    }

    @Test("a failure after training keeps the custom model for retry; retry serves it again as attempt 2")
    func failureKeepsModelForRetry() throws {
        var m = M(
            stage: .throughputCreating,
            context: {
                var c = WorkflowContext()
                c.jobARN = "arn:job"
                c.customModelARN = "arn:model"
                c.throughputARN = "arn:pt"
                return c
            }())
        #expect(try m.handle(.throughputFailed(message: "InsufficientCapacity")) == [.deleteThroughput])
        #expect(m.context.failedStage == .throughputCreating)
        #expect(try m.handle(.throughputDeleted) == [.notify(.failed)], "the custom model is not deleted on failure")
        #expect(try m.handle(.notified) == [])
        #expect(m.stage == .failed && m.context.customModelRetained)
        #expect(try m.retry() == [.createThroughput])
        #expect(m.stage == .jobCompleted && m.context.attempt == 2)
        #expect(m.context.throughputARN == nil && !m.context.throughputDeleted && m.context.failureReason == nil)
        #expect(m.context.jobARN == "arn:job", "no second training job")
        #expect(throws: M.TransitionError.self) { try m.retry() }
    }

    @Test("retry before training creates a new job from the uploaded data, or uploads again")
    func retryEarly() throws {
        var m = M(
            stage: .training,
            context: {
                var c = WorkflowContext()
                c.trainingDataURI = "s3://b/k"
                c.jobARN = "arn:job"
                return c
            }())
        _ = try m.handle(.jobEnded(status: "Failed", message: "bad"))
        _ = try m.handle(.notified)
        #expect(try m.retry() == [.createJob])
        #expect(m.stage == .uploaded && m.context.jobARN == nil && !m.context.jobStopped && m.context.attempt == 2)

        var early = M(stage: .validated)
        _ = try early.handle(.stepFailed(message: "AccessDenied"))
        _ = try early.handle(.notified)
        #expect(try early.retry() == [.upload])
        #expect(early.context.attempt == 2)
    }

    @Test("cancelling a failed workflow deletes the custom model it kept for retry")
    func cancelFailed() throws {
        var m = M(
            stage: .failed,
            context: {
                var c = WorkflowContext()
                c.customModelARN = "arn:model"
                c.jobStopped = true
                return c
            }())
        #expect(try m.handle(.cancelRequested) == [.deleteCustomModel])
        #expect(try m.handle(.customModelDeleted) == [.notify(.cancelled)])
        _ = try m.handle(.notified)
        #expect(m.stage == .cancelled)

        var nothingToDelete = M(stage: .failed)
        #expect(throws: M.TransitionError.self) { try nothingToDelete.handle(.cancelRequested) }
        var done = M(stage: .done)
        #expect(throws: M.TransitionError.self) { try done.retry() }
    }

    @Test("cancelling while training stops the job; while serving, deletes throughput and model first")
    func cancellation() throws {
        var training = M(
            stage: .training,
            context: {
                var c = WorkflowContext()
                c.jobARN = "arn:job"
                return c
            }())
        #expect(try training.handle(.cancelRequested) == [.stopJob])
        #expect(try training.handle(.stepFailed(message: "throttled")) == [.stopJob], "cleanup retries its step")
        #expect(try training.handle(.jobStopped) == [.notify(.cancelled)])
        #expect(try training.handle(.notified) == [])
        #expect(training.stage == .cancelled)

        var serving = M(
            stage: .baseInference,
            context: {
                var c = WorkflowContext()
                c.jobARN = "arn:job"
                c.customModelARN = "arn:model"
                c.throughputARN = "arn:pt"
                return c
            }())
        #expect(try serving.handle(.cancelRequested) == [.deleteThroughput])
        #expect(try serving.handle(.throughputDeleted) == [.deleteCustomModel])
        #expect(try serving.handle(.customModelDeleted) == [.notify(.cancelled)])
    }

    @Test("after the decision nothing can fail or cancel the workflow into deleting a kept throughput")
    func afterDecision() throws {
        var kept = M(
            stage: .kept,
            context: {
                var c = WorkflowContext()
                c.throughputARN = "arn:pt"
                c.keep = true
                return c
            }())
        #expect(throws: M.TransitionError.self) { try kept.handle(.cancelRequested) }
        #expect(throws: M.TransitionError.self) { try kept.handle(.stepFailed(message: "x")) }
        #expect(kept.pendingActions == [.notify(.kept)])
    }

    /// Every (stage, event) pair: the allowed ones move as the table says, all others are refused
    /// without changing anything.
    @Test("every stage and event: allowed transitions move, all others are refused and change nothing")
    func exhaustive() throws {
        var context = WorkflowContext()
        context.jobARN = "arn:job"
        context.customModelARN = "arn:model"
        context.throughputARN = "arn:pt"
        let expected: [WorkflowStage: [String: WorkflowStage]] = [
            .validated: ["uploaded": .uploaded, "stepFailed": .cleaningUp, "cancelRequested": .cancelling],
            .uploaded: ["jobCreated": .jobCreated, "stepFailed": .cleaningUp, "cancelRequested": .cancelling],
            .jobCreated: [
                "jobInProgress": .training, "jobCompleted": .jobCompleted, "jobEnded": .cleaningUp,
                "stepFailed": .cleaningUp, "cancelRequested": .cancelling,
            ],
            .training: [
                "jobInProgress": .training, "jobCompleted": .jobCompleted, "jobEnded": .cleaningUp,
                "stepFailed": .cleaningUp, "cancelRequested": .cancelling,
            ],
            .jobCompleted: ["throughputCreated": .throughputCreating, "stepFailed": .cleaningUp, "cancelRequested": .cancelling],
            .throughputCreating: [
                "throughputCreating": .throughputCreating, "throughputInService": .inService,
                "throughputFailed": .cleaningUp, "stepFailed": .cleaningUp, "cancelRequested": .cancelling,
            ],
            .inService: [
                "inferenceStarted(base)": .baseInference, "inferenceFinished(base)": .customInference,
                "stepFailed": .cleaningUp, "cancelRequested": .cancelling,
            ],
            .baseInference: [
                "inferenceStarted(base)": .baseInference, "inferenceFinished(base)": .customInference,
                "stepFailed": .cleaningUp, "cancelRequested": .cancelling,
            ],
            .customInference: [
                "inferenceStarted(custom)": .customInference, "inferenceFinished(custom)": .customInference,
                "stepFailed": .cleaningUp, "cancelRequested": .cancelling,
            ],
            .scored: ["decided(keep)": .kept, "decided(drop)": .decided, "stepFailed": .cleaningUp, "cancelRequested": .cancelling],
            .decided: ["throughputDeleted": .throughputDeleted],
            .kept: ["notified": .notified],
            .throughputDeleted: ["customModelDeleted": .throughputDeleted, "notified": .notified],
            .notified: ["finished": .done],
            .cleaningUp: [
                "jobStopped": .cleaningUp, "throughputDeleted": .cleaningUp, "customModelDeleted": .cleaningUp,
                "notified": .failed, "stepFailed": .cleaningUp,
            ],
            .cancelling: [
                "jobStopped": .cancelling, "throughputDeleted": .cancelling, "customModelDeleted": .cancelling,
                "notified": .cancelled, "stepFailed": .cancelling,
            ],
            // The context holds a custom model that a failure keeps for retry; cancelling gives it up.
            .failed: ["cancelRequested": .cancelling],
        ]
        try Self.checkTransitions(context: context, expected: expected)
        // keep = "model_only": a kept model's serving resource goes before the notification.
        var modelOnly = context
        modelOnly.spec = Self.spec(serving: .onDemand, keepServing: false)
        var expectedModelOnly = expected
        expectedModelOnly[.kept] = ["notified": .notified, "throughputDeleted": .kept]
        try Self.checkTransitions(context: modelOnly, expected: expectedModelOnly)
    }

    static func spec(serving: Serving, keepServing: Bool) -> WorkflowSpec {
        WorkflowSpec(
            adapter: "a", baseModel: "m", backend: "b", hyperparameters: [:], evaluationSet: nil, jobName: "j",
            customModelName: "c", throughputName: "t", serving: serving, keepServing: keepServing)
    }

    static func checkTransitions(context: WorkflowContext, expected: [WorkflowStage: [String: WorkflowStage]]) throws {
        for stage in WorkflowStage.allCases {
            for event in Self.events {
                var m = M(stage: stage, context: context)
                let before = m
                let allowed = expected[stage]?[Self.name(event)]
                do {
                    _ = try m.handle(event)
                    #expect(allowed != nil, "\(stage) accepted \(event)")
                    if let allowed { #expect(m.stage == allowed, "\(stage) + \(event) → \(m.stage), expected \(allowed)") }
                } catch {
                    #expect(allowed == nil, "\(stage) refused \(event)")
                    #expect(m == before, "a refused event changed the machine")
                }
            }
        }
    }

    static func name(_ event: M.Event) -> String {
        switch event {
        case .uploaded: "uploaded"
        case .jobCreated: "jobCreated"
        case .jobInProgress: "jobInProgress"
        case .jobCompleted: "jobCompleted"
        case .jobEnded: "jobEnded"
        case .throughputCreated: "throughputCreated"
        case .throughputCreating: "throughputCreating"
        case .throughputInService: "throughputInService"
        case .throughputFailed: "throughputFailed"
        case .inferenceStarted(let m): "inferenceStarted(\(m.rawValue))"
        case .inferenceFinished(let m): "inferenceFinished(\(m.rawValue))"
        case .scored: "scored"
        case .decided(let keep, _): keep ? "decided(keep)" : "decided(drop)"
        case .throughputDeleted: "throughputDeleted"
        case .customModelDeleted: "customModelDeleted"
        case .jobStopped: "jobStopped"
        case .notified: "notified"
        case .finished: "finished"
        case .stepFailed: "stepFailed"
        case .cancelRequested: "cancelRequested"
        case .retryRequested: "retryRequested"
        }
    }

    /// Random walks that answer each pending action with a plausible outcome, failures and
    /// cancellations included: every walk ends terminal, and no paid resource outlives it
    /// unless the decision kept it.
    @Test("10,000 random walks end terminal with nothing paid left behind")
    func randomWalks() throws {
        var rng = SplitMix64(seed: 42)
        for walk in 0..<10_000 {
            var context = WorkflowContext(keepRejectedModels: rng.next() % 4 == 0)
            context.spec = Self.spec(serving: rng.next() % 2 == 0 ? .onDemand : .provisioned, keepServing: rng.next() % 3 != 0)
            var m = M(context: context)
            var steps = 0
            var retries = 0
            while !m.stage.isTerminal || (m.stage == .failed && retries < 3 && rng.next() % 2 == 0) {
                if m.stage == .failed {
                    retries += 1
                    if rng.next() % 3 == 0, m.context.customModelRetained, !m.context.keepRejectedModels {
                        _ = try m.handle(.cancelRequested)
                    } else {
                        _ = try m.retry()
                    }
                    continue
                }
                steps += 1
                #expect(steps < 200, "walk \(walk) does not terminate (stage \(m.stage))")
                if steps >= 200 { break }
                if rng.next() % 25 == 0, M.interruptible.contains(m.stage) {
                    _ = try m.handle(rng.next() % 2 == 0 ? .cancelRequested : .stepFailed(message: "injected"))
                    continue
                }
                let actions = m.pendingActions
                #expect(actions.count == 1, "stage \(m.stage) has \(actions) pending")
                guard let action = actions.first else { break }
                let event: M.Event =
                    switch action {
                    case .upload: .uploaded(uri: "s3://b/k")
                    case .createJob: .jobCreated(arn: "arn:job")
                    case .pollJob:
                        [M.Event.jobInProgress, .jobCompleted(customModelARN: "arn:model"), .jobEnded(status: "Failed", message: "x")][
                            Int(rng.next() % 3)]
                    case .stopJob: .jobStopped
                    case .createThroughput: .throughputCreated(arn: "arn:pt", at: Self.t0)
                    case .pollThroughput:
                        [M.Event.throughputCreating, .throughputInService(at: Self.t0), .throughputFailed(message: "x")][Int(rng.next() % 3)]
                    case .runInference(let model): m.stage == .inService ? .inferenceStarted(.base) : .inferenceFinished(model)
                    case .score: .scored(Self.summary)
                    case .decide: .decided(keep: rng.next() % 2 == 0, reason: "r")
                    case .deleteThroughput: .throughputDeleted
                    case .deleteCustomModel: .customModelDeleted
                    case .notify: .notified
                    case .finish: .finished
                    }
                _ = try m.handle(event)
            }
            let c = m.context
            #expect(
                c.throughputARN == nil || c.throughputDeleted || (m.stage == .done && c.keep == true && c.keepsServing),
                "walk \(walk): \(c.serving.words) left")
            #expect(
                c.customModelARN == nil || c.customModelDeleted || c.keepRejectedModels || c.keep == true || m.stage == .failed,
                "walk \(walk): custom model left in \(m.stage)")
            #expect(c.jobARN == nil || c.customModelARN != nil || c.jobStopped, "walk \(walk): job left running")
        }
    }
}
