import Crypto
import FinetunedNetwork
import FinetunedTestSupport
import FinetunedText
import FinetunedWorkflow
import Foundation
import Testing

/// The whole workflow on the Bedrock backend, through the real daemon, for each shipped
/// adapter: S3 is moto (signatures checked), Bedrock is our emulator (signatures checked),
/// scoring is the real BERTScore. A drop goes in; the training data lands in S3, a job is
/// created with the workflow's tags, a throughput is provisioned, both models answer in the
/// adapter's shape, and the throughput is kept when the custom model is better and deleted
/// (with the custom model) when it is worse; the notification carries the scores and the
/// epoch losses read from the job's metric files in S3.
extension MotoPeerTests {
    @Suite("Bedrock workflow end to end: moto S3 + the Bedrock emulator, one profile per adapter", .serialized)
    struct BedrockWorkflowTests {
        struct Case {
            var profile: String
            var adapter: String
            var baseModel: String
            var inferenceID: String
            var answers: EmulatedAnswers
        }

        static let cases = [
            Case(
                profile: "cohere", adapter: "cohere", baseModel: "cohere.command-text-v14:7:4k", inferenceID: "cohere.command-text-v14",
                answers: .better),
            Case(
                profile: "llama", adapter: "llama", baseModel: "meta.llama3-1-8b-instruct-v1:0:128k", inferenceID: "meta.llama3-1-8b-instruct-v1:0",
                answers: .worse),
            Case(
                profile: "titan", adapter: "titan", baseModel: "amazon.titan-text-lite-v1:0:4k", inferenceID: "amazon.titan-text-lite-v1",
                answers: .better),
        ]

        static let promptCount = 24

        static func configuration(_ dir: TemporaryDirectory, moto: String, emulator: String) -> String {
            DaemonHarness.writeExamples("summaries-eval.jsonl", as: "bedrock-eval.jsonl", in: dir) { $0.prefix(promptCount) }
            // Titan's profile sends validation data too: records the training drops do not hold.
            DaemonHarness.writeExamples("summaries-train.jsonl", as: "titan-validation.jsonl", in: dir) { $0.suffix(30) }
            var text =
                DaemonHarness.scoredAndMailed(in: dir) + """

                    [backends.aws]
                    kind = "bedrock"
                    region = "us-east-1"
                    role_arn = "arn:aws:iam::123456789012:role/finetuned-bedrock"
                    bucket = "finetuned-data"
                    prefix = "finetuned"
                    s3_endpoint_url = "\(moto)"
                    bedrock_endpoint_url = "\(emulator)"
                    bedrock_runtime_endpoint_url = "\(emulator)"
                    invoke_concurrency = 4

                    [backends.aws.tags]
                    team = "ml-platform"

                    """
            for c in cases {
                text += """

                    [profiles.\(c.profile)]
                    adapter = "\(c.adapter)"
                    base_model = "\(c.baseModel)"
                    backend = "aws"
                    evaluation_set = "\(dir.file("bedrock-eval.jsonl"))"
                    # Titan Text and Cohere Command are past their end of life: an operator must say yes to pay for them.
                    allow_end_of_life = \(c.adapter == "titan" || c.adapter == "cohere")
                    \(c.adapter == "titan" ? "validation_set = \"\(dir.file("titan-validation.jsonl"))\"" : "")

                    [profiles.\(c.profile).hyperparameters]
                    epochCount = 2

                    """
            }
            return DaemonHarness.usingSharedModel(DaemonHarness.polling(text, every: 0.1, maximum: 0.5), in: dir)
        }

        @Test(
            "a drop per adapter runs upload → job → throughput → both inferences → BERTScore → keep or delete → notification",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(6)))
        func endToEnd() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let s3Client = try moto.client(.s3)
            _ = try await s3Client.send("PUT", path: "/finetuned-data")
            let s3 = S3Client(client: s3Client)

            let emulator = BedrockEmulator(credentials: [moto.credentials])
            let emulatorURL = try await emulator.start()
            defer { Task { await emulator.stop() } }
            await emulator.set(artifactStore: s3)
            let examples = BuiltProducts.packageRoot.appendingPathComponent("examples").path
            let evaluation = try String(contentsOfFile: examples + "/summaries-eval.jsonl", encoding: .utf8)
            let references = evaluation.split(separator: "\n").compactMap { line -> (prompt: String, reference: String)? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                    let prompt = object["prompt"], let reference = object["reference"]
                else { return nil }
                return (prompt, reference)
            }
            await emulator.set(references: references)

            let daemon = try DaemonHarness(
                configuration: { Self.configuration($0, moto: moto.baseURL, emulator: emulatorURL) },
                adapters: ["cohere", "llama", "titan"])
            defer { daemon.tearDown() }
            var environment = moto.environment
            environment["AWS_ENDPOINT_URL"] = nil  // the backend's own endpoints, as configured
            try daemon.start(environment: environment)
            #expect(await daemon.waitForReady() != nil, "\(daemon.log)")

            let training = try String(contentsOfFile: examples + "/summaries-train.jsonl", encoding: .utf8)
            let records = training.split(separator: "\n").prefix(150).joined(separator: "\n") + "\n"

            for c in Self.cases {
                await emulator.set(answers: c.answers)
                let dropName = "\(c.profile)-q4.jsonl"
                try daemon.drop(records, as: dropName, profile: c.profile)
                let done = try #require(
                    try await daemon.waitForWorkflows(in: [.done, .failed, .rejected], dropName: dropName, timeout: .seconds(120)).first,
                    "\(c.profile): \(daemon.log.suffix(3000))")
                let reports =
                    (try? FileManager.default.contentsOfDirectory(atPath: daemon.rejected))?.compactMap {
                        try? String(contentsOfFile: daemon.rejected + "/" + $0, encoding: .utf8)
                    }.joined(separator: "\n").prefix(2000) ?? ""
                #expect(done.stage == .done, "\(c.profile): \(done.failure ?? "") \(reports) \(daemon.log.suffix(2000))")
                let scores = try #require(done.context.scores, "\(c.profile)")
                #expect(scores.prompts == Self.promptCount)

                // The training data in S3, byte for byte, where the profile and workflow say.
                let uploaded = try? await s3.getObject(S3Location(bucket: "finetuned-data", key: "finetuned/\(c.profile)/\(done.id)/\(dropName)"))
                #expect(
                    uploaded.map { SHA256.hash(data: $0).hex } == SHA256.hash(data: Array(records.utf8)).hex,
                    "\(c.profile): \(done.context.trainingDataURI ?? "no URI")")

                let job = try #require(await emulator.jobs.first { $0.tags["finetuned:workflow-id"] == done.id }, "\(c.profile)")
                #expect(job.baseModel == c.baseModel && job.tags["finetuned:profile"] == c.profile && job.hyperParameters["epochCount"] == "2")
                #expect(job.tags["team"] == "ml-platform", "the operator's tags go on every resource")
                #expect(job.outputURI == "s3://finetuned-data/finetuned/output/\(c.profile)/\(done.id)/")
                if c.adapter == "titan" {
                    // The profile's validation set, copied at admission, went to S3 beside the drop, and to the job.
                    let validation = "s3://finetuned-data/finetuned/titan/\(done.id)/validation/\(done.id).validation.jsonl"
                    #expect(job.validationURI == validation)
                    let stored = try? await s3.getObject(S3Location(uri: validation)!)
                    #expect(stored.map { String(decoding: $0, as: UTF8.self).split(separator: "\n").count } == 30)
                } else {
                    #expect(job.validationURI == nil)
                }
                // The base model was asked through its on-demand id, every prompt once.
                #expect(await emulator.invocations[c.inferenceID] == Self.promptCount, "\(c.profile)")

                let throughputARN = try #require(done.context.throughputARN)
                let modelARN = try #require(done.context.customModelARN)
                switch c.answers {
                case .better:
                    #expect(done.context.keep == true && scores.meanCustomF1 > scores.meanBaseF1, "\(c.profile): \(scores)")
                    #expect(
                        await emulator.throughputs.contains {
                            $0.arn == throughputARN && $0.status == "InService" && $0.tags["team"] == "ml-platform"
                                && $0.tags["finetuned:workflow-id"] == done.id
                        }, "kept in service, tagged")
                case .worse, .same:
                    #expect(done.context.keep == false && scores.meanCustomF1 < scores.meanBaseF1, "\(c.profile): \(scores)")
                    #expect(await emulator.deletedThroughputs.contains(throughputARN), "the throughput of a worse model is deleted")
                    #expect(await emulator.deletedModels.contains(modelARN), "and its custom model")
                }

                // The job's metric files, copied from S3 into the workflow's archive.
                let archive = daemon.archive + "/" + done.id
                let steps = try String(contentsOfFile: archive + "/step_wise_training_metrics.csv", encoding: .utf8)
                #expect(steps.hasPrefix("step_number,epoch_number,training_loss"))
                #expect(FileManager.default.fileExists(atPath: archive + "/validation_metrics.csv"))
                // The report draws them, the last epoch marked as the one Bedrock's model holds.
                let page = try String(contentsOfFile: archive + "/report.html", encoding: .utf8)
                let epochs = Set(steps.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] }).count
                #expect(ReportFixtures.count("mark-point", in: page) == scores.prompts, "\(c.profile): a point per scored prompt")
                #expect(ReportFixtures.count("epoch-train", in: page) == epochs + 1, "\(c.profile): a bar per epoch, and the legend's")
                #expect(page.contains("epoch \(epochs) kept") || page.contains("holds epoch \(epochs)&#39;s weights"), "\(c.profile)")
            }

            // One notification per workflow, with the epoch losses from the metric files.
            let mail = try FileManager.default.contentsOfDirectory(atPath: daemon.directory.file("mail/new"))
            #expect(mail.count == Self.cases.count)
            for name in mail {
                let message = try String(contentsOfFile: daemon.directory.file("mail/new/\(name)"), encoding: .utf8)
                #expect(message.contains("Training loss per epoch") && message.contains("epoch 2: train "), "\(message.prefix(1500))")
            }
            #expect(await emulator.signatureFailures == 0)
            #expect(daemon.log.contains("LEGACY"), "Cohere Command is legacy: the daemon warns before paying")
            #expect(!daemon.log.contains(moto.credentials.secretAccessKey), "the secret never reaches the log")
            #expect(
                daemon.log.contains("AWS credentials from environment (key …\(moto.credentials.accessKeyID.suffix(4)))"),
                "the source of the keys is logged once")
        }

        /// The paid step and a crash: the daemon dies right after CreateModelCustomizationJob
        /// returned, before it recorded the job. After the restart it finds the job by its name
        /// and goes on with it; Bedrock ends up with one job, not two.
        @Test(
            "killed right after CreateModelCustomizationJob answered: after the restart, the same job, never a second one",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(4)))
        func crashAfterCreate() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let s3Client = try moto.client(.s3)
            _ = try await s3Client.send("PUT", path: "/finetuned-data")
            let emulator = BedrockEmulator(credentials: [moto.credentials])
            let emulatorURL = try await emulator.start()
            defer { Task { await emulator.stop() } }
            await emulator.set(answers: .same)

            let daemon = try DaemonHarness(
                configuration: { Self.configuration($0, moto: moto.baseURL, emulator: emulatorURL) },
                adapters: ["cohere", "llama", "titan"])
            defer { daemon.tearDown() }
            var environment = moto.environment
            environment["AWS_ENDPOINT_URL"] = nil
            var crashing = environment
            // Backend calls of this process: 1 upload, 2 look the job up by name, 3 create it.
            crashing["FINETUNED_TEST_FAULTS"] = "abort-after-request=3"
            crashing["SWIFT_BACKTRACE"] = "enable=no"
            try daemon.start(environment: crashing)
            #expect(await daemon.waitForReady() != nil)
            let examples = BuiltProducts.packageRoot.appendingPathComponent("examples").path
            let training = try String(contentsOfFile: examples + "/summaries-train.jsonl", encoding: .utf8)
            try daemon.drop(training.split(separator: "\n").prefix(150).joined(separator: "\n") + "\n", as: "q4.jsonl", profile: "cohere")
            #expect(await daemon.waitForExit(timeout: .seconds(60)) != nil, "the fault aborts the daemon after the create call")
            #expect(await emulator.jobs.count == 1)
            let before = try #require(
                try await daemon.waitForWorkflows(in: [.uploaded], dropName: "q4.jsonl", timeout: .seconds(5)).first,
                "the store still says uploaded: the job was never recorded")
            #expect(before.context.jobARN == nil)

            try daemon.start(environment: environment)
            #expect(await daemon.waitForReady() != nil)
            let done = try #require(try await daemon.waitForWorkflows(in: [.done, .failed], dropName: "q4.jsonl", timeout: .seconds(90)).first)
            #expect(done.stage == .done, "\(done.failure ?? "") \(daemon.log.suffix(2000))")
            #expect(await emulator.jobs.count == 1, "one paid job")
            #expect(done.context.jobARN == (await emulator.jobs.first?.arn))
            #expect(daemon.log.contains("created before a restart"), "the job was found by name, not created again")
        }

        @Test("an invalid validation set rejects the drop at admission, before anything is uploaded or paid, with the line that is wrong")
        func invalidValidationSet() async throws {
            let emulator = BedrockEmulator(credentials: [])
            let emulatorURL = try await emulator.start()
            defer { Task { await emulator.stop() } }
            let daemon = try DaemonHarness(
                configuration: { dir in
                    let text = Self.configuration(dir, moto: "http://127.0.0.1:1", emulator: emulatorURL)
                    _ = try? dir.write(
                        "titan-validation.jsonl",
                        #"{"prompt": "a document", "completion": "its summary"}"# + "\n" + #"{"prompt": "no completion"}"# + "\n")
                    return text
                }, adapters: ["cohere", "llama", "titan"])
            defer { daemon.tearDown() }
            try daemon.start(environment: ["AWS_ACCESS_KEY_ID": "AKIDX", "AWS_SECRET_ACCESS_KEY": "x", "AWS_EC2_METADATA_DISABLED": "true"])
            #expect(await daemon.waitForReady() != nil)
            let examples = BuiltProducts.packageRoot.appendingPathComponent("examples").path
            let training = try String(contentsOfFile: examples + "/summaries-train.jsonl", encoding: .utf8)
            try daemon.drop(training.split(separator: "\n").prefix(150).joined(separator: "\n") + "\n", as: "q4.jsonl", profile: "titan")
            let failed = try #require(
                try await daemon.waitForWorkflows(in: [.rejected, .failed, .done], dropName: "q4.jsonl", timeout: .seconds(30)).first)
            #expect(failed.stage == .rejected)
            #expect(
                failed.failure?.contains("the validation set is not valid") == true && failed.failure?.contains("titan-validation.jsonl:2") == true,
                "\(failed.failure ?? "")")
            #expect(failed.context.trainingDataURI == nil)
            #expect(await emulator.jobs.isEmpty)
        }
    }
}
