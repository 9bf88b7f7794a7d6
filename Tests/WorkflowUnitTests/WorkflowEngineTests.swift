import FinetunedConfig
import FinetunedScriptedBackend
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging
import Testing

/// The engine against the scripted backend and a real SQLite store, in one process.
@Suite("Workflow engine")
struct WorkflowEngineTests {
    static let quiet: Logger = {
        var logger = Logger(label: "engine-test")
        logger.logLevel = .critical
        return logger
    }()

    static let keptStages: [WorkflowStage] = [
        .claimed, .validated, .uploaded, .jobCreated, .training, .jobCompleted, .throughputCreating, .inService,
        .baseInference, .customInference, .scored, .kept, .notified, .done,
    ]

    @Test("a better custom model is kept: every stage in order, one job, one throughput left serving, archive and notification written")
    func kept() async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.jobPolls = 3
                s.throughputPolls = 2
                return s
            }())
        let id = try await f.addValidated()
        #expect(f.environment.idleReports.value == 0)
        try await f.runToEnd()
        #expect(await eventually { f.environment.idleReports.value == 1 }, "the engine says it is idle once its last runner has ended")
        let record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .done, "\(record.failure ?? "")")
        #expect(try await f.stages(id) == Self.keptStages)
        let state = try f.state()
        #expect(state.jobs.count == 1 && state.jobs[0].status == "Completed")
        #expect(state.jobs[0].tags == ["finetuned:workflow-id": id, "finetuned:profile": "drill", "team": "ml"])
        #expect(state.jobs[0].token == ResourceNaming.clientToken(workflowID: id, attempt: 1, step: "create-job"))
        #expect(state.jobs[0].hyperparameters == ["epochCount": "2"])
        #expect(state.liveThroughputs.count == 1 && state.liveModels.count == 1)
        let scores = try #require(record.context.scores)
        #expect(scores.verdict == "keep" && scores.prompts == 8 && scores.meanCustomF1 > scores.meanBaseF1)
        let resources = try await f.store.liveResources()
        #expect(Set(resources.filter(\.retained).map(\.kind)) == [.throughput, .customModel])
        #expect(!resources.contains { $0.kind == .job }, "a completed job no longer counts as live")
        let outbox = try await f.store.notifications(workflowID: id)
        #expect(outbox.map(\.kind) == ["kept"])
        let facts = try #require(NotificationFacts.decode(outbox[0].payload))
        #expect(facts.headline.hasPrefix("drill/drop.jsonl kept — F1 "), "\(facts.headline)")
        let archive = f.environment.archiveFolder(for: id)
        let lines = try String(contentsOfFile: archive + "/inference.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 8 && lines.allSatisfy { $0.contains("\"custom_f1\"") && $0.contains("\"base_f1\"") })
        #expect(FileManager.default.fileExists(atPath: archive + "/scores.json"))
        #expect(FileManager.default.fileExists(atPath: archive + "/training.jsonl"), "the drop is archived with its workflow")
        // The report, written before the notification that names it.
        #expect(facts.htmlReport == archive + "/report.html")
        let report = try String(contentsOfFile: archive + "/report.html", encoding: .utf8)
        #expect(report.contains("<p class=\"verdict-word\">Kept</p>") && report.matches(of: #/class="mark-point/#).count == 8)
        let phases = report.matches(of: #/class="mark-phase phase-([a-z]+)"/#).map { String($0.output.1) }
        #expect(phases == ["upload", "queue", "training", "serving", "inference", "scoring", "cleanup"], "\(phases)")
        let polls = try await f.store.events(workflowID: id).filter { $0.kind == .poll }
        #expect(polls.count <= 6, "one event per status change, not per poll: \(polls.map(\.message))")
        await f.tearDown()
    }

    @Test("a custom model that is not better: its throughput and then the model are deleted before the notification")
    func notKept() async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.customAnswers = "worse"
                return s
            }())
        let id = try await f.addValidated()
        try await f.runToEnd()
        let record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .done)
        #expect(try await f.stages(id).suffix(5) == [.scored, .decided, .throughputDeleted, .notified, .done])
        #expect(record.context.scores?.verdict == "reject")
        let state = try f.state()
        #expect(state.liveThroughputs.isEmpty && state.liveModels.isEmpty && state.throughputs.count == 1)
        #expect(try await f.store.liveResources().filter { $0.kind != .trainingData }.isEmpty)
        #expect(try await f.store.notifications(workflowID: id).map(\.kind) == ["not_kept"])
        await f.tearDown()

        let keeping = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.customAnswers = "same"
                return s
            }(), keepRejectedModels: true)
        let kid = try await keeping.addValidated()
        try await keeping.runToEnd()
        #expect(try await keeping.store.workflow(id: kid)?.context.scores?.verdict == "reject")
        let kept = try keeping.state()
        #expect(kept.liveThroughputs.isEmpty && kept.liveModels.count == 1, "keep_rejected_models keeps the model, not the throughput")
        await keeping.tearDown()
    }

    @Test("a job that ends Stopped (by someone else) fails the workflow the same way", arguments: ["Stopped"])
    func jobStopped(outcome: String) async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.jobOutcome = outcome
                s.jobMessage = "stopped from the console"
                return s
            }())
        let id = try await f.addValidated()
        try await f.runToEnd()
        let record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .failed && record.failure == "the customization job ended Stopped: stopped from the console")
        #expect(try f.state().throughputs.isEmpty)
        #expect(try await f.store.notifications(workflowID: id).map(\.kind) == ["failed"])
        await f.tearDown()
    }

    @Test("a job that ends Failed fails the workflow with the service's message; nothing is served")
    func jobFails() async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.jobOutcome = "Failed"
                s.jobMessage = "Maximum input token count 4919 exceeds limit of 4096"
                return s
            }())
        let id = try await f.addValidated()
        try await f.runToEnd()
        let record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .failed)
        #expect(record.failure == "the customization job ended Failed: Maximum input token count 4919 exceeds limit of 4096")
        #expect(try f.state().throughputs.isEmpty)
        let facts = try #require(try await f.store.notifications(workflowID: id).first.flatMap { NotificationFacts.decode($0.payload) })
        #expect(facts.kind == "failed" && facts.headline.contains("4919"))
        await f.tearDown()
    }

    @Test("a throughput that fails is deleted, the model is kept for retry, and retry serves it again without training twice")
    func throughputFailsThenRetry() async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.throughputOutcome = "Failed"
                return s
            }())
        let id = try await f.addValidated()
        try await f.runToEnd()
        var record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .failed && record.context.failedStage == .throughputCreating)
        var state = try f.state()
        #expect(state.liveThroughputs.isEmpty && state.liveModels.count == 1)
        let facts = try #require(try await f.store.notifications(workflowID: id).first.flatMap { NotificationFacts.decode($0.payload) })
        #expect(facts.customModelRetained)
        // Failed after training: a report with the reason, and no comparison to draw.
        let report = try String(contentsOfFile: try #require(facts.htmlReport), encoding: .utf8)
        #expect(report.contains("<p class=\"verdict-word\">Failed</p>") && report.contains("Failed after training: "))
        #expect(report.contains("No prompt was scored.") && report.contains("custom model"), "the model kept for retry is listed")
        await f.engine.shutdown()

        // The same store and backend state, now with capacity: retry picks up from the model.
        let again = try EngineFixture(directory: f.directory.reopen())
        record = try await again.engine.retry(id)
        #expect(record.stage == .jobCompleted && record.context.attempt == 2)
        try await again.runToEnd()
        record = try #require(try await again.store.workflow(id: id))
        #expect(record.stage == .done, "\(record.failure ?? "")")
        state = try again.state()
        #expect(state.jobs.count == 1, "no second training job")
        #expect(state.throughputs.count == 2 && state.throughputs[1].name == "finetuned-\(id)-a2")
        #expect(try await again.store.events(workflowID: id).contains { $0.kind == .retry })
        await #expect(throws: WorkflowEngine.RequestError.self) { try await again.engine.retry(id) }
        await again.tearDown()
    }

    @Test("throttling storms, 5xx and throttled inference calls are retried; the run completes with one job")
    func transientFaults() async throws {
        var policy = EngineFixture.fast
        policy.stepAttempts = 10
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.stormCalls = 4
                s.failEvery = 5
                s.throttleEvery = 7
                return s
            }(), policy: policy)
        let id = try await f.addValidated()
        try await f.runToEnd()
        let record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .done, "\(record.failure ?? "")")
        let state = try f.state()
        #expect(state.jobs.count == 1 && state.throughputs.count == 1)
        #expect(state.log.contains { $0.hasPrefix("throttled:") } && state.log.contains { $0.hasPrefix("5xx:") })
        #expect(record.context.scores?.prompts == 8, "no answer was dropped")
        #expect(try await f.store.events(workflowID: id).contains { $0.kind == .error && $0.message.contains("ThrottlingException") })
        await f.tearDown()
    }

    @Test("a call that keeps failing fails its step after step_attempts; a deletion that keeps failing is retried and raises an alarm")
    func persistentFaults() async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.stormCalls = 5
                return s
            }())
        let id = try await f.addValidated()
        try await f.runToEnd()
        let record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .failed && record.failure?.contains("kept failing (5 attempts)") == true, "\(record.failure ?? "")")
        #expect(try f.state().jobs.isEmpty)
        await f.tearDown()

        let stuck = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.customAnswers = "worse"
                s.failOperation = "delete_throughput"
                return s
            }())
        let sid = try await stuck.addValidated()
        await stuck.engine.schedule()
        var alarm: OutboxEntry?
        for _ in 0..<2000 where alarm == nil {
            alarm = try await stuck.store.notifications(workflowID: sid).first { $0.kind == "cleanup_stuck" }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(alarm.flatMap { NotificationFacts.decode($0.payload) }?.headline.contains("AccessDeniedException") == true)
        #expect(try await stuck.store.workflow(id: sid)?.stage == .decided, "the workflow waits in cleanup, it does not pretend")
        #expect(try stuck.state().liveThroughputs.count == 1)
        await stuck.tearDown()
    }

    @Test("quota exceeded on the throughput and access denied on the job fail cleanly, with a notification")
    func permanentFaults() async throws {
        let quota = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.failOperation = "create_throughput"
                s.failKind = "quota"
                return s
            }())
        let q = try await quota.addValidated()
        try await quota.runToEnd()
        let record = try #require(try await quota.store.workflow(id: q))
        #expect(record.stage == .failed && record.failure?.contains("ServiceQuotaExceededException") == true, "\(record.failure ?? "")")
        #expect(try quota.state().jobs.count == 1 && quota.state().throughputs.isEmpty)
        #expect(try await quota.store.notifications(workflowID: q).map(\.kind) == ["failed"])
        await quota.tearDown()

        let denied = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.failOperation = "create_job"
                return s
            }())
        let d = try await denied.addValidated()
        try await denied.runToEnd()
        #expect(try await denied.store.workflow(id: d)?.failure?.contains("AccessDeniedException") == true)
        #expect(try denied.state().jobs.isEmpty)
        await denied.tearDown()
    }

    @Test("cancel while training stops the job and ends cancelled; a finished workflow cannot be cancelled")
    func cancelTraining() async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.jobPolls = 1_000_000
                return s
            }())
        let id = try await f.addValidated()
        await f.engine.schedule()
        #expect(try await f.waitForStage(id, [.training])?.stage == .training)
        let cancelling = try await f.engine.cancel(id)
        #expect(cancelling.stage == .cancelling)
        try await f.runToEnd()
        let record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .cancelled)
        #expect(try f.state().jobs.map(\.status) == ["Stopped"])
        #expect(try await f.store.notifications(workflowID: id).map(\.kind) == ["cancelled"])
        await #expect(throws: WorkflowEngine.RequestError.self) { try await f.engine.cancel(id) }
        await #expect(throws: WorkflowEngine.RequestError.self) { try await f.engine.cancel("wf-20000101-00000000") }
        await f.tearDown()
    }

    @Test("max_live_throughputs and max_concurrent_workflows hold with several drops at once")
    func costGuards() async throws {
        var policy = EngineFixture.fast
        policy.maxLiveThroughputs = 1
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.customAnswers = "worse"
                s.throughputPolls = 3
                return s
            }(), policy: policy)
        for _ in 0..<3 { try await f.addValidated() }
        try await f.runToEnd()
        let state = try f.state()
        #expect(state.throughputs.count == 3 && state.peakLiveThroughputs == 1)
        #expect(try await f.store.workflows(in: [.done]).count == 3)
        await f.tearDown()

        policy = EngineFixture.fast
        policy.maxConcurrentWorkflows = 1
        let serial = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.jobPolls = 3
                return s
            }(), policy: policy)
        for _ in 0..<3 { try await serial.addValidated() }
        try await serial.runToEnd()
        #expect(try serial.state().jobs.count == 3 && serial.state().peakRunningJobs == 1)
        await serial.tearDown()
    }

    @Test("deadlines: training that never ends is stopped, a throughput that is never kept is deleted")
    func deadlines() async throws {
        var policy = EngineFixture.fast
        policy.trainingDeadline = .milliseconds(200)
        let training = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.jobPolls = 1_000_000
                return s
            }(), policy: policy)
        let t = try await training.addValidated()
        try await training.runToEnd()
        let tr = try #require(try await training.store.workflow(id: t))
        #expect(tr.stage == .failed && tr.failure?.contains("training did not finish within") == true, "\(tr.failure ?? "")")
        #expect(try training.state().jobs.map(\.status) == ["Stopped"])
        await training.tearDown()

        policy = EngineFixture.fast
        policy.maxUnkeptThroughputAge = .milliseconds(200)
        let serving = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.throughputPolls = 1_000_000
                return s
            }(), policy: policy)
        let s = try await serving.addValidated()
        try await serving.runToEnd()
        let sr = try #require(try await serving.store.workflow(id: s))
        #expect(sr.failure?.contains("max_unkept_throughput_hours") == true, "\(sr.failure ?? "")")
        #expect(try serving.state().liveThroughputs.isEmpty)
        await serving.tearDown()
    }

    @Test("inference: a call that times out every time is recorded as failed and left out of scoring, never misaligned")
    func inferenceTimeouts() async throws {
        var policy = EngineFixture.fast
        policy.invokeTimeout = .milliseconds(50)
        policy.invokeAttempts = 2
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.invokeDelayMilliseconds = 400
                return s
            }(), policy: policy, prompts: 4)
        let id = try await f.addValidated()
        try await f.runToEnd()
        let record = try #require(try await f.store.workflow(id: id))
        #expect(record.stage == .done)
        let scores = try #require(record.context.scores)
        #expect(scores.verdict == "inconclusive" && scores.prompts == 0 && scores.excludedUnanswered == 4)
        let answers = try await f.store.answers(workflowID: id)
        #expect(
            answers.count == 8
                && answers.allSatisfy { $0.output == nil && $0.failure?.contains("invoke_timeout_seconds") == true && $0.attempts == 2 })
        #expect(try f.state().liveThroughputs.isEmpty, "an inconclusive evaluation keeps nothing")
        await f.tearDown()
    }

    @Test("inference resumes from its checkpoints after a stop: no prompt is asked twice")
    func inferenceResumes() async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.invokeDelayMilliseconds = 30
                return s
            }(), prompts: 12)
        let id = try await f.addValidated()
        await f.engine.schedule()
        // A generous deadline: on a loaded two-core machine the base model's 12 answers can take long.
        let reached = try await f.waitForStage(id, [.customInference], timeout: .seconds(120))
        try #require(reached?.stage == .customInference, "the base model's answers never completed: \(reached?.stage.rawValue ?? "none")")
        try await Task.sleep(for: .milliseconds(100))
        await f.engine.shutdown()
        let before = try await f.store.answers(workflowID: id).count
        #expect(before >= 12 && before < 24)

        let again = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.invokeDelayMilliseconds = 30
                return s
            }(), prompts: 12,
            directory: f.directory.reopen())
        try await again.runToEnd()
        #expect(try await again.store.workflow(id: id)?.stage == .done)
        #expect(try await again.store.answers(workflowID: id).count == 24)
        let invocations = try again.state().invocations
        #expect(invocations >= 24 && invocations <= 25, "\(invocations) calls for 24 answers (one may have been in flight at the stop)")
        #expect(try await again.store.events(workflowID: id).contains { $0.kind == .resumed })
        await again.tearDown()
    }

    @Test("the janitor deletes what finished workflows left behind, and leaves kept resources and retry models alone")
    func janitor() async throws {
        let f = try EngineFixture()
        let done = try await f.addValidated()
        try await f.runToEnd()
        // Simulate a lost deletion: a second throughput recorded for the finished workflow.
        let model = try #require(try await f.store.workflow(id: done)?.context.customModelARN)
        let stray = try await f.backend.createThroughput(ThroughputRequest(name: "stray", modelARN: model, clientRequestToken: "stray", tags: [:]))
        var record = try #require(try await f.store.workflow(id: done))
        _ = try await f.store.advance(
            WorkflowStep(
                id: done, from: .done, to: .done, context: record.context, kind: .note, message: "stray",
                resources: [.created(ResourceRecord(workflowID: done, kind: .throughput, identifier: stray))]))
        let report = await Janitor(store: f.store, environment: f.environment, logger: Self.quiet).run()
        #expect(report.deleted.count == 1 && report.deleted[0].contains(stray) && report.failed.isEmpty)
        let state = try f.state()
        #expect(state.liveThroughputs.count == 1 && state.liveThroughputs[0].arn != stray, "the kept throughput stays")
        record = try #require(try await f.store.workflow(id: done))
        #expect(record.context.throughputARN == state.liveThroughputs[0].arn)
        #expect(await Janitor(store: f.store, environment: f.environment, logger: Self.quiet).run().deleted.isEmpty)
        await f.tearDown()
    }

    @Test("a throughput created but never recorded (a crash between call and commit) is found by name and deleted on cancel")
    func sweepUnrecorded() async throws {
        let f = try EngineFixture(
            script: {
                var s = ScriptSettings()
                s.jobPolls = 0
                return s
            }())
        let id = try await f.addValidated()
        var policy = EngineFixture.fast
        policy.maxLiveThroughputs = 0  // the engine itself never creates one: it waits for a slot
        let waiting = WorkflowEngine(store: f.store, environment: f.environment, policy: policy, logger: Self.quiet)
        await waiting.schedule()
        let record = try #require(try await f.waitForStage(id, [.jobCompleted]))
        #expect(record.stage == .jobCompleted)
        // What a crashed run would have left: a throughput under the workflow's name.
        let orphan = try await f.backend.createThroughput(
            ThroughputRequest(
                name: "finetuned-\(id)", modelARN: record.context.customModelARN!, clientRequestToken: "lost", tags: [:]))
        _ = try await waiting.cancel(id)
        _ = try await f.waitForStage(id, [.cancelled])
        await waiting.shutdown()
        #expect(try await f.store.workflow(id: id)?.stage == .cancelled)
        #expect(try f.state().liveThroughputs.isEmpty && f.state().liveModels.isEmpty)
        let resources = try await f.store.resources(workflowID: id)
        #expect(resources.contains { $0.identifier == orphan && $0.deletedAt != nil })
        let facts = try #require(try await f.store.notifications(workflowID: id).first.flatMap { NotificationFacts.decode($0.payload) })
        #expect(facts.cleanup.contains { $0.contains(orphan) && $0.contains("before an interruption") })
        await f.tearDown()
    }
}
