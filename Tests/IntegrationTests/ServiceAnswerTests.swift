import FinetunedNetwork
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

/// The real daemon on the Bedrock backend against the emulator's answers that a careful
/// client must survive: resources briefly unknown after their creation, resources deleted
/// behind its back, error pages of HTML and multi-line JSON errors.
extension MotoPeerTests {
    @Suite("Service answers: eventual consistency, vanished resources, error pages", .serialized)
    struct ServiceAnswerTests {
        /// The Bedrock profiles of the end-to-end test, with fast retries and the grace given.
        static func configuration(_ dir: TemporaryDirectory, moto: String, emulator: String, grace: Double) -> String {
            BedrockWorkflowTests.configuration(dir, moto: moto, emulator: emulator)
                .replacingOccurrences(
                    of: "[engine]\n",
                    with: """
                        [engine]
                        not_found_grace_seconds = \(grace)
                        step_attempts = 3
                        retry_base_seconds = 0.05
                        retry_max_seconds = 0.2

                        """)
        }

        struct Setup {
            var moto: MotoServer
            var emulator: BedrockEmulator
            var daemon: DaemonHarness
            var records: String

            func tearDown() async {
                daemon.tearDown()
                await emulator.stop()
                moto.stop()
            }
        }

        static func start(grace: Double) async throws -> Setup {
            let moto = try await blocking { try MotoServer() }
            let s3Client = try moto.client(.s3)
            _ = try await s3Client.send("PUT", path: "/finetuned-data")
            let emulator = BedrockEmulator(credentials: [moto.credentials])
            let emulatorURL = try await emulator.start()
            await emulator.set(answers: .same)
            let daemon = try DaemonHarness(
                configuration: { Self.configuration($0, moto: moto.baseURL, emulator: emulatorURL, grace: grace) },
                adapters: ["cohere", "llama", "titan"])
            var environment = moto.environment
            environment["AWS_ENDPOINT_URL"] = nil
            try daemon.start(environment: environment)
            _ = await daemon.waitForReady()
            let examples = BuiltProducts.packageRoot.appendingPathComponent("examples").path
            let training = try String(contentsOfFile: examples + "/summaries-train.jsonl", encoding: .utf8)
            let records = training.split(separator: "\n").prefix(150).joined(separator: "\n") + "\n"
            return Setup(moto: moto, emulator: emulator, daemon: daemon, records: records)
        }

        /// Every line the daemon logged is one entry: it starts with a timestamp.
        static func logEntriesAreLines(_ log: String) -> [Substring] {
            log.split(separator: "\n").filter { !($0.first?.isNumber ?? false) }
        }

        static func outboxKinds(_ daemon: DaemonHarness, _ id: String) async throws -> [String] {
            // One entry per channel (the log and the Maildir): the kinds, once each.
            Array(Set(try await SQLiteWorkflowStore(path: daemon.databasePath).notifications(workflowID: id).map(\.kind))).sorted()
        }

        @Test(
            "every resource unknown for its first Gets: the workflow goes on to done; nothing is stuck",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(4)))
        func eventuallyConsistent() async throws {
            let setup = try await Self.start(grace: 60)
            var faults = EmulatorFaults()
            faults.notFoundAfterCreate = 3
            await setup.emulator.set(faults: faults)
            try setup.daemon.drop(setup.records, as: "late.jsonl", profile: "cohere")
            let done = try #require(
                try await setup.daemon.waitForWorkflows(in: [.done, .failed], dropName: "late.jsonl", timeout: .seconds(120)).first)
            #expect(done.stage == .done, "\(done.failure ?? "") \(setup.daemon.log.suffix(3000))")
            #expect(await setup.emulator.hiddenGets >= 6, "the job's and the throughput's first Gets were answered not found")
            #expect(setup.daemon.log.contains("is not visible yet"), "the daemon said it was asking again")
            #expect(try await Self.outboxKinds(setup.daemon, done.id) == ["not_kept"])
            #expect(await setup.emulator.jobs.count == 1)
            #expect(await setup.emulator.deletedThroughputs.count == 1)
            await setup.tearDown()
        }

        @Test(
            "a job deleted while it trains, a throughput deleted while it serves: each workflow fails saying so, its cleanup completes",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(4)))
        func vanished() async throws {
            let setup = try await Self.start(grace: 0.5)
            let daemon = setup.daemon, emulator = setup.emulator
            let store = try SQLiteWorkflowStore(path: daemon.databasePath)

            // The job, while it trains.
            await emulator.set(jobPolls: 1_000_000, throughputPolls: 2)
            try daemon.drop(setup.records, as: "job.jsonl", profile: "cohere")
            let training = try #require(try await daemon.waitForWorkflows(in: [.training], dropName: "job.jsonl", timeout: .seconds(60)).first)
            try await Task.sleep(for: .seconds(1))  // older than the grace
            await emulator.vanishJob(try #require(training.context.jobARN))
            let jobFailed = try #require(
                try await daemon.waitForWorkflows(in: [.failed], dropName: "job.jsonl", timeout: .seconds(60)).first,
                "\(daemon.log.suffix(2000))")
            #expect(
                jobFailed.failure?.hasPrefix("the customization job \(training.context.jobARN ?? "") vanished: the service no longer knows it")
                    == true,
                "\(jobFailed.failure ?? "")")
            #expect(try await Self.outboxKinds(daemon, jobFailed.id) == ["failed"], "no cleanup_stuck")
            #expect(try await store.events(workflowID: jobFailed.id).contains { $0.message.hasSuffix("was already gone at the service") })

            // The throughput, while the models answer.
            await emulator.set(jobPolls: 2, throughputPolls: 2)
            await emulator.set(invokeLatency: .milliseconds(300))  // a few seconds of answers to vanish it in
            try daemon.drop(setup.records, as: "serving.jsonl", profile: "cohere")
            let serving = try #require(
                try await daemon.waitForWorkflows(
                    in: [.baseInference, .customInference], dropName: "serving.jsonl",
                    timeout: .seconds(90)
                ).first)
            await emulator.vanishThroughput(try #require(serving.context.throughputARN))
            let servingFailed = try #require(
                try await daemon.waitForWorkflows(in: [.failed, .done], dropName: "serving.jsonl", timeout: .seconds(90)).first)
            #expect(servingFailed.stage == .failed, "\(servingFailed.failure ?? "")")
            #expect(
                servingFailed.failure?.hasPrefix("asking the custom model failed: InvokeModel: ValidationException") == true,
                "\(servingFailed.failure ?? "")")
            #expect(try await Self.outboxKinds(daemon, servingFailed.id) == ["failed"], "no cleanup_stuck")
            let events = try await store.events(workflowID: servingFailed.id).map(\.message)
            #expect(
                events.contains { $0.contains("provisioned throughput \(serving.context.throughputARN ?? "") was already gone at the service") },
                "\(events)")
            #expect(try await store.liveResources().filter { $0.kind == .throughput || $0.kind == .job }.isEmpty, "nothing left billing by the hour")
            await setup.tearDown()
        }

        @Test(
            "an HTML error page and a multi-line JSON error: one line each in the log, the store and the mail",
            .timeLimit(.minutes(3)))
        func errorPages() async throws {
            let setup = try await Self.start(grace: 60)
            let daemon = setup.daemon, emulator = setup.emulator

            // A 400 whose JSON message spans lines: the job cannot be created.
            var faults = EmulatorFaults()
            faults.badRequests = 1
            await emulator.set(faults: faults)
            try daemon.drop(setup.records, as: "refused.jsonl", profile: "cohere")
            let refused = try #require(try await daemon.waitForWorkflows(in: [.failed], dropName: "refused.jsonl", timeout: .seconds(60)).first)
            #expect(
                refused.failure == "creating the customization job failed: GetModelCustomizationJob: ValidationException: "
                    + "1 validation error detected: Value at 'jobName' failed to satisfy constraint: Member must match the pattern",
                "\(refused.failure ?? "")")

            // 500s with an HTML page, more than the step's attempts.
            faults = EmulatorFaults()
            faults.htmlServerErrors = 12  // 3 step attempts × 4 tries of the AWS client
            await emulator.set(faults: faults)
            try daemon.drop(setup.records, as: "proxied.jsonl", profile: "cohere")
            let proxied = try #require(try await daemon.waitForWorkflows(in: [.failed], dropName: "proxied.jsonl", timeout: .seconds(60)).first)
            let failure = try #require(proxied.failure)
            #expect(
                failure.hasPrefix(
                    "creating the customization job kept failing (3 attempts): transient failure: GetModelCustomizationJob: HTTP 500 InternalServerError: "
                        + "500 Internal Server Error Internal Server Error The server encountered an internal error"), "\(failure)")
            #expect(!failure.contains("<") && !failure.contains("retry ="), "no markup, no script: \(failure)")

            // Each mail: the reason on one line of its own.
            #expect(
                await eventually(timeout: .seconds(30)) {
                    ((try? FileManager.default.contentsOfDirectory(atPath: daemon.directory.file("mail/new"))) ?? []).count == 2
                })
            let mails = try FileManager.default.contentsOfDirectory(atPath: daemon.directory.file("mail/new")).map {
                try String(contentsOfFile: daemon.directory.file("mail/new/\($0)"), encoding: .utf8)
            }
            for needle in [
                "1 validation error detected: Value at 'jobName' failed to satisfy constraint: Member must match the pattern",
                "The server encountered an internal error and was unable to complete your request.",
            ] {
                #expect(mails.contains { $0.contains(needle) }, "\(needle) in \(mails.map { $0.prefix(1500) })")
            }
            #expect(!mails.contains { $0.contains("<title>500") || $0.contains("var retry") }, "none of the page's markup or script")

            let log = daemon.log
            #expect(Self.logEntriesAreLines(log).isEmpty, "lines that are not entries: \(Self.logEntriesAreLines(log).prefix(5))")
            #expect(!log.contains("DOCTYPE") && !log.contains("<h1>") && !log.contains("var retry"))
            #expect(log.contains("HTTP 500 InternalServerError: 500 Internal Server Error Internal Server Error"))
            await setup.tearDown()
        }
    }
}
