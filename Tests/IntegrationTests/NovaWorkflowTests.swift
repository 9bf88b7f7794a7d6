import FinetunedNetwork
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Testing

/// Amazon Nova through the real daemon, moto's S3 and the Bedrock emulator: served on demand
/// by a custom model deployment (no throughput hour at all), or by a provisioned throughput
/// when the profile says so, and a crash right after the deployment was created.
extension MotoPeerTests {
    @Suite("Nova end to end: on-demand deployments against the emulator", .serialized)
    struct NovaWorkflowTests {
        static let promptCount = 24

        /// The example training set as `bedrock-conversation-2024` records, as Nova takes them.
        static func conversations(_ count: Int) throws -> String {
            let path = BuiltProducts.packageRoot.appendingPathComponent("examples/summaries-train.jsonl").path
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").prefix(count)
            return try lines.map { line -> String in
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
                let record: [String: Any] = [
                    "schemaVersion": "bedrock-conversation-2024",
                    "messages": [
                        ["role": "user", "content": [["text": object["prompt"] ?? ""]]],
                        ["role": "assistant", "content": [["text": object["completion"] ?? ""]]],
                    ],
                ]
                return String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
            }.joined(separator: "\n") + "\n"
        }

        static func configuration(_ dir: TemporaryDirectory, moto: String, emulator: String) -> String {
            DaemonHarness.writeExamples("summaries-eval.jsonl", as: "nova-eval.jsonl", in: dir) { $0.prefix(promptCount) }
            var text =
                DaemonHarness.scoredAndMailed(in: dir) + """

                    [backends.aws]
                    kind = "bedrock"
                    region = "us-east-1"
                    role_arn = "arn:aws:iam::123456789012:role/finetuned-bedrock"
                    bucket = "finetuned-data"
                    s3_endpoint_url = "\(moto)"
                    bedrock_endpoint_url = "\(emulator)"
                    bedrock_runtime_endpoint_url = "\(emulator)"
                    invoke_concurrency = 4

                    """
            for (profile, extra) in [
                ("nova", ""), ("novapt", "serving = \"provisioned\""), ("novamodel", "keep = \"model_only\""),
                ("novadistil", "customization = \"distillation\"\nteacher_model = \"amazon.nova-pro-v1:0\""),
            ] {
                text += """

                    [profiles.\(profile)]
                    adapter = "nova"
                    base_model = "amazon.nova-lite-v1:0:300k"
                    backend = "aws"
                    evaluation_set = "\(dir.file("nova-eval.jsonl"))"
                    \(extra)

                    [profiles.\(profile).hyperparameters]
                    epochCount = 1

                    [profiles.\(profile).inference]
                    max_tokens = 300
                    temperature = 0.2

                    """
            }
            return DaemonHarness.usingSharedModel(DaemonHarness.polling(text, every: 0.1, maximum: 0.5), in: dir)
        }

        struct Peers {
            var moto: MotoServer
            var emulator: BedrockEmulator
            var daemon: DaemonHarness
            var environment: [String: String]

            func stop() {
                daemon.tearDown()
                let emulator = emulator
                Task { await emulator.stop() }
                moto.stop()
            }
        }

        static func peers() async throws -> Peers {
            let moto = try await blocking { try MotoServer() }
            _ = try await moto.client(.s3).send("PUT", path: "/finetuned-data")
            let emulator = BedrockEmulator(credentials: [moto.credentials])
            let url = try await emulator.start()
            let path = BuiltProducts.packageRoot.appendingPathComponent("examples/summaries-eval.jsonl").path
            let references = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
                line -> (prompt: String, reference: String)? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                    let prompt = object["prompt"], let reference = object["reference"]
                else { return nil }
                return (prompt, reference)
            }
            await emulator.set(references: references)
            let daemon = try DaemonHarness(configuration: { Self.configuration($0, moto: moto.baseURL, emulator: url) }, adapters: ["nova"])
            var environment = moto.environment
            environment["AWS_ENDPOINT_URL"] = nil
            return Peers(moto: moto, emulator: emulator, daemon: daemon, environment: environment)
        }

        static func run(_ peers: Peers, _ drop: String, profile: String) async throws -> WorkflowRecord {
            try peers.daemon.drop(try conversations(120), as: drop, profile: profile)
            return try #require(
                try await peers.daemon.waitForWorkflows(in: [.done, .failed, .rejected], dropName: drop, timeout: .seconds(120)).first,
                "\(peers.daemon.log.suffix(3000))")
        }

        @Test(
            "on demand: a deployment serves the custom model, kept when better, deleted with the model when worse; no throughput at all",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(5)))
        func onDemand() async throws {
            let peers = try await Self.peers()
            defer { peers.stop() }
            try peers.daemon.start(environment: peers.environment)
            #expect(await peers.daemon.waitForReady() != nil, "\(peers.daemon.log)")
            let emulator = peers.emulator

            await emulator.set(answers: .better)
            let kept = try await Self.run(peers, "kept.jsonl", profile: "nova")
            #expect(kept.stage == .done, "\(kept.failure ?? "") \(peers.daemon.log.suffix(2000))")
            #expect(kept.context.keep == true && kept.context.serving == .onDemand, "\(String(describing: kept.context.scores))")
            let deployment = try #require(kept.context.throughputARN)
            #expect(deployment.contains(":custom-model-deployment/"))
            #expect(
                await emulator.deployments.contains { $0.arn == deployment && $0.status == "Active" && $0.tags["finetuned:workflow-id"] == kept.id },
                "a kept model keeps its deployment: it costs nothing while idle")
            #expect(await emulator.invocations[deployment] == Self.promptCount, "the custom model was asked through the deployment")
            #expect(await emulator.invocations["amazon.nova-lite-v1:0"] == Self.promptCount, "the base model through its on-demand id")
            #expect(await emulator.conversations[deployment] == Self.promptCount, "with Converse, as AWS advises for Nova")
            let sent = try #require(await emulator.lastBodies[deployment])
            #expect(
                sent.contains(#""maxTokens":300"#) && sent.contains(#""temperature":0.2"#), "the profile's [inference] as inferenceConfig: \(sent)")

            await emulator.set(answers: .worse)
            let dropped = try await Self.run(peers, "dropped.jsonl", profile: "nova")
            #expect(dropped.stage == .done && dropped.context.keep == false, "\(dropped.failure ?? "")")
            let second = try #require(dropped.context.throughputARN)
            #expect(await emulator.deletedDeployments.contains(second), "the deployment of a worse model is deleted")
            #expect(await emulator.deletedModels.contains(dropped.context.customModelARN ?? "?"), "and its custom model")

            let throughputs = await emulator.throughputs.count + emulator.deletedThroughputs.count
            #expect(throughputs == 0, "not one provisioned throughput, not one hour billed")
            // Notifications are delivered from the outbox after the workflow is done.
            let maildir = peers.daemon.directory.file("mail/new")
            let deadline = ContinuousClock.now + .seconds(30)
            while ((try? FileManager.default.contentsOfDirectory(atPath: maildir))?.count ?? 0) < 2 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            let mail = try FileManager.default.contentsOfDirectory(atPath: maildir)
            let messages = try mail.map { try String(contentsOfFile: maildir + "/\($0)", encoding: .utf8) }
            #expect(
                messages.count == 2 && messages.allSatisfy { $0.contains("on demand, billed per token: no throughput hours") },
                "\(messages.first?.prefix(2000) ?? "")")
            #expect(
                messages.allSatisfy {
                    $0.contains("Tokens used by the evaluation") && $0.contains("Throughput hours") && $0.contains("none: served on demand")
                })
            let tokens = try #require(messages.first?.split(separator: "\n").first { $0.contains("base: ") })
            #expect(!tokens.contains("base: 0 in"), "the usage the service reported is summed: \(tokens)")
            let status = try await peers.daemon.ctl(["status", "--json"])
            #expect(status.stdout.contains(deployment), "the kept deployment is listed among live resources: \(status.stdout.prefix(1500))")
        }

        @Test(
            "with an assumed role (a chain of two, from the profile's source keys): S3 and Bedrock see only the role's key, signed and accepted",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(5)))
        func assumedRole() async throws {
            let peers = try await Self.peers()
            defer { peers.stop() }
            let moto = peers.moto
            await peers.emulator.set(issuedKeySecret: { await moto.issuedSecret(accessKeyID: $0) })
            let config = try peers.daemon.directory.write(
                "aws-config",
                """
                [profile base]
                aws_access_key_id = \(moto.credentials.accessKeyID)
                aws_secret_access_key = \(moto.credentials.secretAccessKey)

                [profile first]
                role_arn = arn:aws:iam::123456789012:role/finetuned-first
                source_profile = base

                [profile default]
                role_arn = arn:aws:iam::123456789012:role/finetuned-second
                source_profile = first
                """)
            var environment = peers.environment
            environment["AWS_ACCESS_KEY_ID"] = nil
            environment["AWS_SECRET_ACCESS_KEY"] = nil
            environment["AWS_CONFIG_FILE"] = config
            environment["AWS_ENDPOINT_URL_STS"] = moto.baseURL
            try peers.daemon.start(environment: environment)
            #expect(await peers.daemon.waitForReady() != nil, "\(peers.daemon.log)")

            await peers.emulator.set(answers: .better)
            let done = try await Self.run(peers, "assumed.jsonl", profile: "nova")
            #expect(done.stage == .done, "\(done.failure ?? "") \(peers.daemon.log.suffix(2000))")
            let keys = Set(await peers.emulator.accessKeys)
            #expect(!keys.isEmpty && !keys.contains(moto.credentials.accessKeyID), "Bedrock saw the source's key: \(keys)")
            for key in keys { #expect(await moto.issuedSecret(accessKeyID: key) != nil, "\(key) is not a key moto's STS issued") }
            #expect(await peers.emulator.signatureFailures == 0)
            // S3 took the training data under the role's key: moto checks every signature, and
            // the object is there.
            #expect(
                peers.daemon.log.contains(
                    "AWS credentials from assumed role arn:aws:iam::123456789012:role/finetuned-second via source profile first"),
                "\(peers.daemon.log.suffix(2000))")
            let uploaded = try #require(done.context.trainingDataURI.flatMap(S3Location.init(uri:)))
            #expect(!(try await S3Client(client: try moto.client(.s3)).getObject(uploaded)).isEmpty, "no training data in S3")
        }

        @Test(
            "serving = \"provisioned\" uses a throughput; keep = \"model_only\" keeps the model and deletes its deployment",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(5)))
        func servingChoices() async throws {
            let peers = try await Self.peers()
            defer { peers.stop() }
            try peers.daemon.start(environment: peers.environment)
            #expect(await peers.daemon.waitForReady() != nil, "\(peers.daemon.log)")
            let emulator = peers.emulator
            await emulator.set(answers: .better)

            let provisioned = try await Self.run(peers, "pt.jsonl", profile: "novapt")
            #expect(provisioned.stage == .done && provisioned.context.serving == .provisioned, "\(provisioned.failure ?? "")")
            #expect(await emulator.throughputs.contains { $0.arn == provisioned.context.throughputARN })
            #expect(await emulator.deployments.isEmpty)

            let modelOnly = try await Self.run(peers, "model.jsonl", profile: "novamodel")
            #expect(modelOnly.stage == .done && modelOnly.context.keep == true, "\(modelOnly.failure ?? "")")
            #expect(await emulator.deletedDeployments.contains(modelOnly.context.throughputARN ?? "?"), "model_only: the deployment goes")
            #expect(await emulator.models.contains { $0.arn == modelOnly.context.customModelARN }, "the kept model stays")
        }

        @Test(
            "distillation: prompts without answers, a DISTILLATION job with Nova Pro as teacher, served on demand",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(5)))
        func distillation() async throws {
            let peers = try await Self.peers()
            defer { peers.stop() }
            try peers.daemon.start(environment: peers.environment)
            #expect(await peers.daemon.waitForReady() != nil, "\(peers.daemon.log)")
            await peers.emulator.set(answers: .better)
            // The teacher writes the answers: the drop holds the user's turns only.
            let prompts =
                try Self.conversations(120).split(separator: "\n").map { line -> String in
                    var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    object["messages"] = (object["messages"] as? [[String: Any]])?.filter { $0["role"] as? String == "user" }
                    return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
                }.joined(separator: "\n") + "\n"
            try peers.daemon.drop(prompts, as: "distil.jsonl", profile: "novadistil")
            let done = try #require(
                try await peers.daemon.waitForWorkflows(in: [.done, .failed, .rejected], dropName: "distil.jsonl", timeout: .seconds(120)).first)
            #expect(done.stage == .done, "\(done.failure ?? "") \(peers.daemon.log.suffix(2000))")
            let job = try #require(await peers.emulator.jobs.first { $0.tags["finetuned:workflow-id"] == done.id })
            #expect(job.customizationType == "DISTILLATION" && job.teacherModel == "amazon.nova-pro-v1:0")
            #expect(done.context.serving == .onDemand)

            // The same prompts on the fine-tuning profile: answers are required there.
            try peers.daemon.drop(prompts, as: "unanswered.jsonl", profile: "nova")
            let refused = try #require(try await peers.daemon.waitForWorkflows(in: [.rejected, .done, .failed], dropName: "unanswered.jsonl").first)
            #expect(
                refused.stage == .rejected && refused.failure?.contains("conversations end with \"assistant\"") == true, "\(refused.failure ?? "")")
        }

        @Test(
            "killed right after CreateCustomModelDeployment answered: after the restart, the same deployment, never a second one",
            .enabled(if: SharedTestData.hasModel, "the model is missing: run scripts/fetch-model (make test does)"),
            .timeLimit(.minutes(5)))
        func crashAfterDeploymentCreate() async throws {
            let peers = try await Self.peers()
            defer { peers.stop() }
            await peers.emulator.set(answers: .worse)
            var crashing = peers.environment
            crashing["FINETUNED_TEST_FAULTS"] = "abort-after-call=create-deployment"
            crashing["SWIFT_BACKTRACE"] = "enable=no"
            try peers.daemon.start(environment: crashing)
            #expect(await peers.daemon.waitForReady() != nil)
            try peers.daemon.drop(try Self.conversations(120), as: "crash.jsonl", profile: "nova")
            #expect(await peers.daemon.waitForExit(timeout: .seconds(90)) != nil, "the fault aborts the daemon after the create call")
            #expect(await peers.emulator.deployments.count == 1)
            let before = try #require(
                try await peers.daemon.waitForWorkflows(in: [.jobCompleted], dropName: "crash.jsonl", timeout: .seconds(5)).first,
                "the store still says the job completed: the deployment was never recorded")
            #expect(before.context.throughputARN == nil)

            try peers.daemon.start(environment: peers.environment)
            #expect(await peers.daemon.waitForReady() != nil)
            let done = try #require(
                try await peers.daemon.waitForWorkflows(in: [.done, .failed], dropName: "crash.jsonl", timeout: .seconds(90)).first)
            #expect(done.stage == .done, "\(done.failure ?? "") \(peers.daemon.log.suffix(2000))")
            #expect(peers.daemon.log.contains("found custom model deployment"), "the deployment was found by name, not created again")
            let live = await peers.emulator.deployments.count, deleted = await peers.emulator.deletedDeployments.count
            #expect(live + deleted == 1, "one deployment in all")
            #expect(await peers.emulator.deletedDeployments == [done.context.throughputARN ?? "?"], "and it was deleted with the worse model")
        }
    }
}
