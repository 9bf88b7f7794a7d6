import FinetunedConfig
import FinetunedNetwork
import FinetunedTestSupport
import FinetunedWorkflow
import Foundation
import Logging
import Testing

@testable import FinetunedBedrockBackend

/// The Bedrock client against moto, a Bedrock nobody here wrote. moto checks signatures;
/// where its verifier refuses a correctly signed request (GET and stop on a job, whatever
/// the identifier), botocore's request is refused the same way, and the call is then
/// repeated with checking off to test what the client makes of moto's answer.
extension MotoPeerTests {
    @Suite("Bedrock client against moto", .serialized)
    struct BedrockMotoTests {
        static func settings() -> BedrockSettings {
            var s = BedrockSettings(roleARN: "arn:aws:iam::123456789012:role/finetuned-bedrock", bucket: "finetuned-data")
            s.region = "us-east-1"
            return s
        }

        static func botocore(_ moto: MotoServer, _ call: String) async throws -> String {
            let python = try #require(Command.which("python3"))
            let script = """
                import sys, boto3
                bedrock = boto3.client("bedrock", region_name="us-east-1", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
                try:
                    \(call)
                    print("accepted")
                except Exception as e:
                    print(e.response["Error"]["Code"], e.response["Error"].get("Message", ""))
                """
            let result = try await blocking {
                try Command.run(python, ["-c", script, moto.baseURL, moto.credentials.accessKeyID, moto.credentials.secretAccessKey])
            }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) + result.stderr
        }

        @Test("create a job (signed), read it back by name and ARN, stop it, and resume on a name collision only with our token")
        func jobs() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let backend = try BedrockBackend(name: "bedrock", settings: Self.settings(), environment: moto.environment, logger: Logger(label: "test"))
            let request = JobRequest(
                jobName: "finetuned-wf-1-a1", customModelName: "finetuned-wf-1-a1-model", baseModel: "amazon.titan-text-lite-v1",
                trainingDataURI: "s3://finetuned-data/finetuned/p/wf-1/train.jsonl", hyperparameters: ["epochCount": "2"],
                clientRequestToken: "wf-1-a1-create-job", tags: ["finetuned:workflow-id": "wf-1", "finetuned:profile": "p"])
            let arn = try await backend.createJob(request)
            #expect(arn.hasSuffix(":model-customization-job/finetuned-wf-1-a1"))

            // moto's verifier refuses every signed GET of a job, botocore's included.
            await #expect(throws: BackendError.self) { try await backend.job(arn) }
            #expect(
                try await Self.botocore(moto, "bedrock.get_model_customization_job(jobIdentifier='finetuned-wf-1-a1')").contains(
                    "SignatureDoesNotMatch"))
            try await moto.checkSignatures(false)

            let state = try await backend.job(arn)
            #expect(
                state == JobState(arn: arn, status: .inProgress, customModelARN: nil, message: nil, clientToken: "wf-1-a1-create-job"),
                "moto's placeholder failure message is ignored while in progress; the token is the proof of ownership")
            #expect(try await backend.findJob(name: "finetuned-wf-1-a1")?.arn == arn)
            #expect(try await backend.findJob(name: "no-such-job") == nil, "moto's 400 ResourceNotFoundException is 'not there'")

            // The same name again: moto says it is in use; ours (same token) → resume, not ours → a clear error.
            #expect(try await backend.createJob(request) == arn)
            var other = request
            other.clientRequestToken = "someone-else"
            do {
                _ = try await backend.createJob(other)
                Issue.record("a job with another token was adopted")
            } catch {
                guard case .permanent(let message) = error else {
                    Issue.record("\(error)")
                    return
                }
                #expect(message.contains("was not created by this workflow"), "\(message)")
            }

            let job = try await BedrockClient(client: try moto.client(.bedrock)).getModelCustomizationJob(arn)
            #expect(job.creationTime?.isEmpty == false, "moto's '2026-11-28 08:22:28' timestamps do not break decoding")
            #expect(job.outputDataConfig?.s3Uri == "s3://finetuned-data/finetuned/output/p/wf-1/")
            #expect(job.hyperParameters == ["epochCount": "2"])
            try await backend.stopJob(arn)

            // Deleting what is not there is reported as not found (the engine records it gone);
            // GetCustomModel's 400 not-found is typed.
            await #expect(throws: BackendError.notFound("DeleteCustomModel: ResourceNotFoundException: Custom model none not found")) {
                try await backend.deleteCustomModel("arn:aws:bedrock:us-east-1:123456789012:custom-model/none")
            }
            let bedrock = BedrockClient(client: try moto.client(.bedrock))
            do {
                _ = try await bedrock.getCustomModel("none")
                Issue.record("moto found a model that does not exist")
            } catch {
                #expect(error.code == "ResourceNotFoundException" && !error.isRetryable)
            }
        }

        @Test("the training data goes to s3://bucket/prefix/profile/workflow/, signed")
        func upload() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let client = try moto.client(.s3)
            _ = try await client.send("PUT", path: "/finetuned-data")
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let file = try dir.write("q4.jsonl", "{\"prompt\":\"a\",\"completion\":\"b\"}\n")
            let backend = try BedrockBackend(name: "bedrock", settings: Self.settings(), environment: moto.environment, logger: Logger(label: "test"))
            let uri = try await backend.putTrainingData(TrainingUpload(workflowID: "wf-7", profile: "summaries", localPath: file, sha256: nil))
            #expect(uri == "s3://finetuned-data/finetuned/summaries/wf-7/q4.jsonl")
            #expect(try await S3Client(client: client).getObject(S3Location(uri: uri)!) == Array("{\"prompt\":\"a\",\"completion\":\"b\"}\n".utf8))
        }
    }
}

@Suite("Bedrock pieces")
struct BedrockUnitTests {
    @Test("metric CSVs: mean training loss per epoch, the last validation loss, 0-based epochs shifted")
    func metricsCSV() {
        let steps = "step_number,epoch_number,training_loss,perplexity\n1,0,2.0,7.3\n2,0,1.0,2.7\n3,1,0.5,1.6\n"
        let validation = "step_number,epoch_number,validation_loss,perplexity\n2,0,1.5,4.4\n3,1,0.75,2.1\n"
        #expect(
            TrainingMetricsCSV.epochs(stepWise: steps, validation: validation)
                == [
                    EpochMetrics(epoch: 1, trainingLoss: 1.5, validationLoss: 1.5, kept: false),
                    EpochMetrics(epoch: 2, trainingLoss: 0.5, validationLoss: 0.75, kept: true),
                ], "the last epoch is the one Bedrock's model holds")
        let reordered = "epoch_number,training_loss,step_number\n1,0.4,1\n1,0.2,2\nbad,line\n"
        #expect(
            TrainingMetricsCSV.epochs(stepWise: reordered, validation: nil) == [
                EpochMetrics(epoch: 1, trainingLoss: 0.30000000000000004, validationLoss: nil, kept: true)
            ])
        #expect(TrainingMetricsCSV.epochs(stepWise: "", validation: nil).isEmpty)
    }

    @Test("metric CSVs from outside: nan, inf, 1e300, -1 and fractions as epochs, non-finite losses are skipped, never trapped on")
    func hostileMetricsCSV() {
        let steps = """
            step_number,epoch_number,training_loss
            1,nan,1.0
            2,inf,1.0
            3,-inf,1.0
            4,1e300,1.0
            5,-1,1.0
            6,1.5,1.0
            7,9223372036854775807,1.0
            8,2,nan
            9,2,inf
            10,2,1e300
            11,2.0,0.25
            """
        #expect(
            TrainingMetricsCSV.epochs(stepWise: steps, validation: "epoch_number,validation_loss\n1e300,1\n2,-inf\n")
                == [EpochMetrics(epoch: 2, trainingLoss: 0.25, validationLoss: nil, kept: true)])
    }

    @Test("the invoke limiter halves under throttling, grows back after successes, never exceeds its width")
    func limiter() async {
        let limiter = InvokeLimiter(maximum: 4)
        for _ in 0..<4 { await limiter.acquire() }
        await limiter.release(throttled: true)
        #expect(await limiter.limit == 2)
        await limiter.release(throttled: true)
        #expect(await limiter.limit == 1)
        await limiter.release(throttled: false)
        await limiter.release(throttled: false)
        for _ in 0..<10 {
            await limiter.acquire()
            await limiter.release(throttled: false)
        }
        #expect(await limiter.limit == 3, "1 → 2 after 4 successes in a row, 2 → 3 after 8 more")
    }

    @Test("AWS errors become the engine's kinds, with the service's own message")
    func errorMapping() {
        let validation = AWSError(status: 400, code: "ValidationException", message: "The provided job name is currently in use.")
        #expect(
            BedrockErrors.map(validation, "CreateModelCustomizationJob")
                == .permanent("CreateModelCustomizationJob: ValidationException: The provided job name is currently in use."))
        #expect(BedrockErrors.isNameCollision(validation))
        guard
            case .throttled(_, let after) = BedrockErrors.map(
                AWSError(status: 429, code: "ThrottlingException", message: "slow", retryAfter: .seconds(3)), "x")
        else {
            Issue.record("not throttled")
            return
        }
        #expect(after == .seconds(3))
        guard case .quotaExceeded = BedrockErrors.map(AWSError(status: 400, code: "ServiceQuotaExceededException", message: "q"), "x") else {
            Issue.record("not a quota error")
            return
        }
        guard case .transient = BedrockErrors.map(AWSError(status: 503, code: "ServiceUnavailable", message: "x"), "x") else {
            Issue.record("not transient")
            return
        }
        guard case .notFound = BedrockErrors.map(AWSError(status: 400, code: "ResourceNotFoundException", message: "x"), "x") else {
            Issue.record("not notFound")
            return
        }
        guard case .permanent = BedrockErrors.map(AWSError(status: 403, code: "AccessDeniedException", message: "x"), "x") else {
            Issue.record("not permanent")
            return
        }
    }

    @Test("validation_set is for Bedrock backends only")
    func validationSetNeedsBedrock() throws {
        do {
            _ = try ConfigurationLoader.parse(
                text: """
                    [backends.here]
                    kind = "local"
                    [profiles.p]
                    adapter = "local"
                    base_model = "local.minilm-extractive-v1"
                    backend = "here"
                    validation_set = "/srv/validation.jsonl"
                    """, file: "x.toml")
            Issue.record("a local profile took a validation set")
        } catch {
            #expect(error.diagnostics.map(\.description).joined().contains("holds out evalPercentage"))
        }
    }

    @Test("[backends.NAME] kind = bedrock is checked when the configuration loads")
    func settings() throws {
        let good = try ConfigurationLoader.parse(
            text: """
                [backends.aws]
                kind = "bedrock"
                region = "eu-central-1"
                role_arn = "arn:aws:iam::123456789012:role/finetuned"
                bucket = "my-data"
                prefix = "/ft/"
                kms_key_id = "alias/ft"
                vpc_subnet_ids = ["subnet-1"]
                vpc_security_group_ids = ["sg-1"]
                bedrock_runtime_endpoint_url = "https://vpce-1.bedrock-runtime.eu-central-1.vpce.amazonaws.com"
                invoke_concurrency = 8
                ca_file = "/etc/finetuned/proxy-ca.pem"

                [backends.aws.tags]
                team = "ml"
                "cost-center" = "42"

                [notify.webhook]
                url = "https://hooks.internal/ft"
                ca_file = "/etc/finetuned/hooks-ca.pem"
                """, file: "x.toml")
        #expect(good.backends["aws"]?.bedrock?.caFile == "/etc/finetuned/proxy-ca.pem")
        #expect(good.notifications.webhook?.caFile == "/etc/finetuned/hooks-ca.pem")
        let s = try #require(good.backends["aws"]?.bedrock)
        #expect(s.prefix == "ft" && s.effectiveOutputPrefix == "ft/output" && s.effectiveOutputBucket == "my-data")
        #expect(s.invokeConcurrency == 8 && s.vpcSubnetIDs == ["subnet-1"])
        #expect(s.tags == ["team": "ml", "cost-center": "42"])
        #expect(s.serviceEndpoints == ["bedrock_runtime": "https://vpce-1.bedrock-runtime.eu-central-1.vpce.amazonaws.com"])
        do {
            _ = try ConfigurationLoader.parse(
                text: """
                    [backends.aws]
                    kind = "bedrock"
                    region = "Frankfurt"
                    role_arn = "finetuned"
                    bucket = "My_Bucket"
                    vpc_subnet_ids = ["subnet-1"]
                    invoke_concurency = 8

                    [backends.aws.tags]
                    "finetuned:profile" = "mine"
                    "aws:createdBy" = "me"
                    """, file: "x.toml")
            Issue.record("a broken Bedrock table loaded")
        } catch {
            let text = error.diagnostics.map(\.description).joined(separator: "\n")
            for expected in [
                "not an AWS region", "not an IAM role ARN", "not an S3 bucket name", "needs both vpc_subnet_ids", "invoke_concurency",
                "tag key 'finetuned:profile'", "tag key 'aws:createdBy'",
            ] {
                #expect(text.contains(expected), "\(expected) in \(text)")
            }
        }
    }
}
