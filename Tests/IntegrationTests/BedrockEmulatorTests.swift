import FinetunedConfig
import FinetunedNetwork
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging
import Testing

@testable import FinetunedBedrockBackend

/// The Bedrock backend against our emulator, for what moto lacks (jobs that finish,
/// throughput, InvokeModel, faults); and the emulator against botocore, to show that its
/// signature check, which shares our signer, accepts what AWS's own SDK signs.
@Suite("Bedrock backend against the emulator")
struct BedrockEmulatorTests {
    static let key = AWSCredentials(accessKeyID: "AKIDEMULATOR", secretAccessKey: "emulator/secret+key")

    static func backend(
        _ url: String, concurrency: Int = 4, retry: Int = 4, caFile: String? = nil,
        extraEnvironment: [String: String] = [:]
    ) throws -> BedrockBackend {
        var settings = BedrockSettings(roleARN: "arn:aws:iam::123456789012:role/finetuned", bucket: "finetuned-data")
        settings.region = "us-east-1"
        settings.caFile = caFile
        settings.endpointURL = url
        settings.invokeConcurrency = concurrency
        let environment = [
            "AWS_ACCESS_KEY_ID": key.accessKeyID, "AWS_SECRET_ACCESS_KEY": key.secretAccessKey,
            "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        ].merging(extraEnvironment) { $1 }
        return try BedrockBackend(name: "bedrock", settings: settings, environment: environment, logger: Logger(label: "test"))
    }

    static func request(_ name: String, base: String = "amazon.titan-text-lite-v1:0:4k") -> JobRequest {
        JobRequest(
            jobName: name, customModelName: name + "-model", baseModel: base, trainingDataURI: "s3://finetuned-data/p/wf/train.jsonl",
            hyperparameters: ["epochCount": "2"], clientRequestToken: name + "-token",
            tags: ["finetuned:workflow-id": "wf", "finetuned:profile": "p"])
    }

    @Test("botocore's signed requests pass the emulator's check, every operation; a wrong secret does not")
    func botocoreAgrees() async throws {
        let emulator = BedrockEmulator(credentials: [Self.key])
        let url = try await emulator.start()
        defer { Task { await emulator.stop() } }
        await emulator.set(jobPolls: 1, throughputPolls: 1)
        let python = try #require(Command.which("python3"))
        let script = """
            import json, sys, boto3
            kw = dict(region_name="us-east-1", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            bedrock = boto3.client("bedrock", **kw)
            runtime = boto3.client("bedrock-runtime", **kw)
            job = bedrock.create_model_customization_job(jobName="bc-job", customModelName="bc-model", roleArn="arn:aws:iam::123456789012:role/r",
                baseModelIdentifier="amazon.titan-text-lite-v1:0:4k", trainingDataConfig={"s3Uri": "s3://b/k.jsonl"},
                outputDataConfig={"s3Uri": "s3://b/out/"}, hyperParameters={"epochCount": "1"}, clientRequestToken="bc-token",
                jobTags=[{"key": "finetuned:profile", "value": "p"}])["jobArn"]
            model = bedrock.get_model_customization_job(jobIdentifier=job)["outputModelArn"]
            bedrock.get_custom_model(modelIdentifier=model)
            bedrock.get_foundation_model(modelIdentifier="cohere.command-light-text-v14:7:4k")
            tp = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="bc-tp", modelId=model)["provisionedModelArn"]
            assert bedrock.get_provisioned_model_throughput(provisionedModelId=tp)["status"] == "InService"
            body = runtime.invoke_model(modelId=tp, body=json.dumps({"inputText": "Ünïcode prompt", "textGenerationConfig": {"maxTokenCount": 20}}),
                                        contentType="application/json", accept="application/json")["body"].read()
            assert "outputText" in json.loads(body)["results"][0]
            bedrock.delete_provisioned_model_throughput(provisionedModelId=tp)
            bedrock.delete_custom_model(modelIdentifier=model)
            print("ok")
            """
        let good = try await blocking { try Command.run(python, ["-c", script, url, Self.key.accessKeyID, Self.key.secretAccessKey]) }
        #expect(good.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(good.stderr)")
        #expect(await emulator.signatureFailures == 0)
        #expect(await emulator.deletedThroughputs.count == 1)
        #expect(await emulator.deletedModels.count == 1)

        let bad = try await blocking {
            try Command.run(
                python,
                [
                    "-c",
                    "import sys, boto3\nb = boto3.client('bedrock', region_name='us-east-1', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key='wrong')\ntry:\n    b.get_foundation_model(modelIdentifier='amazon.titan-text-lite-v1:0:4k')\nexcept Exception as e:\n    print(e.response['Error']['Code'])",
                    url, Self.key.accessKeyID,
                ])
        }
        #expect(bad.stdout.contains("InvalidSignatureException"), "\(bad.stdout) \(bad.stderr)")
        #expect(await emulator.signatureFailures == 1)
    }

    @Test(
        "over TLS, model calls share pooled connections: 40 InvokeModel calls open at most invoke_concurrency; the CA comes from ca_file or AWS_CA_BUNDLE"
    )
    func pooledTLS() async throws {
        let dir = try TemporaryDirectory(prefix: "ftahc")
        defer { dir.remove() }
        let certificates = try TestCertificates(in: dir)
        let emulator = BedrockEmulator(credentials: [Self.key])
        let url = try await emulator.start(tls: try certificates.serverContext())
        defer { Task { await emulator.stop() } }
        #expect(url.hasPrefix("https://"))
        let body = #"{"inputText": "Summarise: the cache was cold.", "textGenerationConfig": {"maxTokenCount": 20}}"#
        let backend = try Self.backend(url, concurrency: 4, caFile: certificates.ca)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<40 { group.addTask { try await backend.invoke(modelID: "amazon.titan-text-lite-v1", body: body) } }
            for try await answer in group { #expect(answer.contains("outputText")) }
        }
        let opened = await emulator.connectionsAccepted
        #expect((1...4).contains(opened), "40 calls opened \(opened) connections")

        // The system's trust store does not know the test CA: refused, never retried into success.
        let untrusting = try Self.backend(url, retry: 1)
        do {
            _ = try await untrusting.invoke(modelID: "amazon.titan-text-lite-v1", body: body)
            Issue.record("a certificate from an unknown CA was accepted")
        } catch {
            #expect("\(error)".contains("certificate verify failed"), "\(error)")
        }
        // AWS_CA_BUNDLE, as the AWS CLI reads it.
        let bundled = try Self.backend(url, extraEnvironment: ["AWS_CA_BUNDLE": certificates.ca])
        #expect(try await bundled.invoke(modelID: "amazon.titan-text-lite-v1", body: body).contains("outputText"))
    }

    @Test("a whole cycle through faults: throttling, a 5xx and a reset are retried; the job completes; throughput comes into service and is deleted")
    func lifecycle() async throws {
        let emulator = BedrockEmulator(credentials: [Self.key])
        let url = try await emulator.start()
        defer { Task { await emulator.stop() } }
        let backend = try Self.backend(url)
        var faults = EmulatorFaults()
        faults.throttle = 1
        faults.serverErrors = 1
        faults.resets = 1
        await emulator.set(faults: faults)

        let jobARN = try await backend.createJob(Self.request("wf-1-a1"))
        #expect(try await backend.createJob(Self.request("wf-1-a1")) == jobARN, "the same token is the same job")
        #expect(try await backend.findJob(name: "wf-1-a1")?.status == .inProgress)
        let done = try await backend.job(jobARN)
        #expect(done.status == .completed)
        let model = try #require(done.customModelARN)
        #expect(await emulator.jobs.first?.tags == ["finetuned:workflow-id": "wf", "finetuned:profile": "p"])
        #expect(await emulator.jobs.first?.outputURI == "s3://finetuned-data/finetuned/output/p/wf/")

        let tp = try await backend.createThroughput(ThroughputRequest(name: "wf-1-a1-tp", modelARN: model, clientRequestToken: "tp-token", tags: [:]))
        #expect(try await backend.throughput(tp).status == .creating)
        #expect(try await backend.throughput(tp).status == .inService)
        #expect(try await backend.findThroughput(name: "wf-1-a1-tp")?.arn == tp)
        #expect(try await backend.findThroughput(name: "nothing") == nil)

        // ModelNotReadyException is retried by the client; the answer is in Titan's shape.
        faults = EmulatorFaults()
        faults.modelNotReady = 1
        await emulator.set(faults: faults)
        let answer = try await backend.invoke(modelID: tp, body: #"{"inputText":"The quarterly report shows growth in every region."}"#)
        #expect(answer.contains("outputText"))

        await #expect(throws: BackendError.self, "the model still has a throughput") { try await backend.deleteCustomModel(model) }
        try await backend.deleteThroughput(tp)
        // Already gone: said so, for the engine to record it removed (`Removal`).
        #expect(
            try await backend.remove(.throughput, tp)
                == .alreadyGone(
                    "DeleteProvisionedModelThroughput: ResourceNotFoundException: The specified provisioned model \(tp) could not be found."))
        try await backend.deleteCustomModel(model)
        #expect(try await backend.remove(.customModel, model) != .removed)
        #expect(await emulator.throughputs.isEmpty)
        #expect(await emulator.models.isEmpty)
        #expect(await emulator.signatureFailures == 0)
    }

    @Test("a failed job, a quota error, a job stopped and stopped again, a validation error with the service's message")
    func failures() async throws {
        let emulator = BedrockEmulator(credentials: [Self.key])
        let url = try await emulator.start()
        defer { Task { await emulator.stop() } }
        await emulator.set(jobPolls: 1, throughputPolls: 1)
        let backend = try Self.backend(url)

        var faults = EmulatorFaults()
        faults.failJobsWith = "Training data has 3 records; the minimum is 8."
        await emulator.set(faults: faults)
        let failed = try await backend.createJob(Self.request("wf-2-a1"))
        #expect(
            try await backend.job(failed)
                == JobState(
                    arn: failed, status: .failed, message: "Training data has 3 records; the minimum is 8.",
                    clientToken: "wf-2-a1-token"))

        await emulator.set(faults: EmulatorFaults())
        let stopped = try await backend.createJob(Self.request("wf-3-a1"))
        try await backend.stopJob(stopped)
        #expect(try await backend.job(stopped).status == .stopped)
        try await backend.stopJob(stopped)  // stopping an ended job is not an error

        let completed = try await backend.createJob(Self.request("wf-4-a1"))
        let model = try #require(try await backend.job(completed).customModelARN)
        faults = EmulatorFaults()
        faults.throughputQuota = 0
        await emulator.set(faults: faults)
        do {
            _ = try await backend.createThroughput(ThroughputRequest(name: "wf-4-tp", modelARN: model, clientRequestToken: "t4", tags: [:]))
            Issue.record("the quota was not enforced")
        } catch {
            guard case .quotaExceeded(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.contains("quota increase"))
        }

        var invalid = Self.request("bad name with spaces")
        invalid.clientRequestToken = "t5"
        do {
            _ = try await backend.createJob(invalid)
            Issue.record("an invalid job name was accepted")
        } catch {
            guard case .permanent(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.hasPrefix("CreateModelCustomizationJob: ValidationException: 1 validation error detected"))
        }

        // A name in use by someone else's job.
        var collision = Self.request("wf-4-a1")
        collision.clientRequestToken = "not-ours"
        collision.customModelName = "other-model"
        await #expect(throws: BackendError.self) { try await backend.createJob(collision) }
    }

    @Test("InvokeModel calls in flight stay within invoke_concurrency, and the legacy base model is warned about")
    func concurrencyAndLifecycle() async throws {
        let emulator = BedrockEmulator(credentials: [Self.key])
        let url = try await emulator.start()
        defer { Task { await emulator.stop() } }
        await emulator.set(invokeLatency: .milliseconds(50))
        let backend = try Self.backend(url, concurrency: 3)
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<24 {
                group.addTask { try await backend.invoke(modelID: "meta.llama3-1-8b-instruct-v1:0", body: #"{"prompt":"question \#(i)"}"#) }
            }
            for try await answer in group { #expect(answer.contains("\"generation\"")) }
        }
        // The customization id is not an on-demand model id: refused, as by the service.
        await #expect(throws: BackendError.self) {
            try await backend.invoke(modelID: "meta.llama3-1-8b-instruct-v1:0:128k", body: #"{"prompt":"q"}"#)
        }
        let peak = await emulator.peakConcurrentInvocations
        #expect(peak <= 3 && peak >= 2, "peak \(peak)")
        #expect(await backend.baseModelWarning("cohere.command-light-text-v14:7:4k")?.contains("LEGACY") == true)
        #expect(await backend.baseModelWarning("meta.llama3-1-8b-instruct-v1:0:128k") == nil)
    }

    @Test("a slow service runs into the client's deadline: a retryable timeout, not a hang")
    func slowService() async throws {
        let emulator = BedrockEmulator(credentials: [Self.key])
        let url = try await emulator.start()
        defer { Task { await emulator.stop() } }
        var faults = EmulatorFaults()
        // Far slower than the deadline, so however loaded the machine, the deadline comes first.
        faults.delayMilliseconds = 30_000
        await emulator.set(faults: faults)
        let environment = ["AWS_ACCESS_KEY_ID": Self.key.accessKeyID, "AWS_SECRET_ACCESS_KEY": Self.key.secretAccessKey]
        let endpoints = try AWSEndpoints(
            configuredRegion: "us-east-1", fips: nil, configuredEndpoint: url, configuredServiceEndpoints: [:],
            environment: [:], shared: nil)
        let client = AWSServiceClient(
            service: .bedrock, endpoints: endpoints,
            credentials: CredentialChain(providers: [EnvironmentCredentials(environment: environment)]),
            http: HTTPTransport(timeout: .seconds(1)), retry: .init(maxAttempts: 1))
        do {
            _ = try await BedrockClient(client: client).getFoundationModel("amazon.titan-text-lite-v1:0:4k")
            Issue.record("the slow answer arrived within the deadline")
        } catch {
            // The server's answer would have been a success: a Timeout means the deadline ended the call.
            #expect(error.code == "Timeout" && error.isRetryable, "\(error)")
        }
    }

    @Test("aws_profile picks the shared-credentials profile the backend signs with, and the profile's region")
    func awsProfile() async throws {
        let emulator = BedrockEmulator(region: "eu-west-1", credentials: [Self.key])
        let url = try await emulator.start()
        defer { Task { await emulator.stop() } }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let credentials = try dir.write(
            "credentials",
            """
            [default]
            aws_access_key_id = AKIDWRONG
            aws_secret_access_key = wrong
            [finetuned]
            aws_access_key_id = \(Self.key.accessKeyID)
            aws_secret_access_key = \(Self.key.secretAccessKey)
            """)
        let config = try dir.write("config", "[default]\nregion = us-east-1\n[profile finetuned]\nregion = eu-west-1\n")
        var settings = BedrockSettings(roleARN: "arn:aws:iam::123456789012:role/finetuned", bucket: "finetuned-data")
        settings.endpointURL = url
        settings.awsProfile = "finetuned"
        let environment = ["AWS_SHARED_CREDENTIALS_FILE": credentials, "AWS_CONFIG_FILE": config, "AWS_EC2_METADATA_DISABLED": "true"]
        let backend = try BedrockBackend(name: "bedrock", settings: settings, environment: environment, logger: Logger(label: "test"))
        #expect(await backend.baseModelWarning("cohere.command-text-v14:7:4k")?.contains("LEGACY") == true)
        #expect(await emulator.signatureFailures == 0, "signed with the [finetuned] key, scoped to eu-west-1")

        settings.awsProfile = nil
        let withDefault = try BedrockBackend(name: "bedrock", settings: settings, environment: environment, logger: Logger(label: "test"))
        #expect(await withDefault.baseModelWarning("cohere.command-text-v14:7:4k") == nil, "the warning check never fails a workflow")
        #expect(await emulator.signatureFailures == 1, "the [default] key is refused")
    }
}

/// Custom model deployments and Converse through the real backend and the emulator: the
/// states, the refusals and the field names the 2026 fact sheet documents.
@Suite("Bedrock deployments and Converse against the emulator")
struct BedrockDeploymentTests {
    /// A completed Nova Lite job's custom model.
    static func customModel(_ backend: BedrockBackend, _ name: String, teacher: String? = nil) async throws -> String {
        var request = BedrockEmulatorTests.request(name, base: "amazon.nova-lite-v1:0:300k")
        request.teacherModel = teacher
        let arn = try await backend.createJob(request)
        for _ in 0..<5 {
            if let model = try await backend.job(arn).customModelARN { return model }
        }
        throw CancellationError()
    }

    @Test("a deployment is Creating, then Active; invoking it before is refused; one that fails says why; delete ends it")
    func lifecycle() async throws {
        let emulator = BedrockEmulator(credentials: [BedrockEmulatorTests.key])
        let url = try await emulator.start()
        defer { Task { await emulator.stop() } }
        await emulator.set(jobPolls: 1, throughputPolls: 1)
        let backend = try BedrockEmulatorTests.backend(url)
        let model = try await Self.customModel(backend, "dep")
        let arn = try await backend.createDeployment(
            DeploymentRequest(name: "dep-serving", modelARN: model, clientRequestToken: "dep-token", tags: ["finetuned:workflow-id": "wf"]))
        #expect(
            try await backend.createDeployment(DeploymentRequest(name: "dep-serving", modelARN: model, clientRequestToken: "dep-token", tags: [:]))
                == arn,
            "the same client token answers with the same deployment")
        let converse = #"{"messages":[{"role":"user","content":[{"text":"Summarize: the export fails."}]}]}"#
        await #expect(throws: BackendError.self, "not active yet") { try await backend.converse(modelID: arn, body: converse) }
        #expect(try await backend.deployment(arn).status == .creating)
        #expect(try await backend.deployment(arn).status == .active)
        #expect(try await backend.findDeployment(name: "dep-serving")?.modelARN == model, "found by name, with the model it serves")
        let answer = try await backend.converse(modelID: arn, body: converse)
        #expect(answer.contains(#""stopReason":"end_turn""#) && answer.contains(#""inputTokens""#))
        let list = try await backend.control.client.jsonRaw("GET", path: "/model-customization/custom-model-deployments").text
        #expect(list.contains(#""customModelDeploymentName":"dep-serving""#), "List names it customModelDeploymentName: \(list)")
        try await backend.deleteDeployment(arn)
        #expect(try await backend.findDeployment(name: "dep-serving") == nil)
        await #expect(throws: BackendError.self) { try await backend.deleteDeployment(arn) }

        var faults = EmulatorFaults()
        faults.failDeploymentsWith = "Insufficient capacity for on-demand inference."
        await emulator.set(faults: faults)
        let failing = try await backend.createDeployment(
            DeploymentRequest(name: "dep-failing", modelARN: model, clientRequestToken: "fail-token", tags: [:]))
        _ = try await backend.deployment(failing)
        let failed = try await backend.deployment(failing)
        #expect(failed.status == .failed && failed.message == "Insufficient capacity for on-demand inference.")
    }

    @Test("a job's customizationType and teacher are checked: distillation needs a teacher the student may have")
    func distillationJobs() async throws {
        let emulator = BedrockEmulator(credentials: [BedrockEmulatorTests.key])
        let url = try await emulator.start()
        defer { Task { await emulator.stop() } }
        await emulator.set(jobPolls: 1, throughputPolls: 1)
        let backend = try BedrockEmulatorTests.backend(url)
        _ = try await Self.customModel(backend, "student", teacher: "amazon.nova-pro-v1:0")
        let job = try #require(await emulator.jobs.first { $0.name == "student" })
        #expect(job.customizationType == "DISTILLATION" && job.teacherModel == "amazon.nova-pro-v1:0")
        var wrong = BedrockEmulatorTests.request("wrong", base: "amazon.nova-lite-v1:0:300k")
        wrong.teacherModel = "amazon.nova-micro-v1:0"
        await #expect(throws: BackendError.self, "Micro cannot teach Lite") { try await backend.createJob(wrong) }
    }
}
