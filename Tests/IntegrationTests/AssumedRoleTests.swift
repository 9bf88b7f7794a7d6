import FinetunedTestSupport
import FinetunedText
import Foundation
import Synchronization
import Testing

@testable import FinetunedNetwork

/// Profiles that assume a role, and web identity: what cannot work is refused before any
/// call, by name; what can is run against moto's STS with signature checking on.
@Suite("assumed roles and web identity, offline")
struct AssumedRoleConfigurationTests {
    static func refusal(_ config: String, profile: String, environment extra: [String: String] = [:]) async throws -> String {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = try dir.write("config", config)
        let environment = [
            "AWS_CONFIG_FILE": path, "AWS_SHARED_CREDENTIALS_FILE": dir.file("none"), "AWS_PROFILE": profile,
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REGION": "us-east-1",
        ].merging(extra) { $1 }
        do {
            let found = try await SharedFileCredentials(environment: environment).resolve()
            return "resolved: \(String(describing: found))"
        } catch {
            return error.description
        }
    }

    @Test("MFA, SSO, a loop, a missing or silent source, a bad credential_source or duration: each refused, naming the key and the way out")
    func refusals() async throws {
        let role = "role_arn = arn:aws:iam::123456789012:role/finetuned-first\n"
        let cases: [(String, String, [String])] = [
            (
                "[profile p]\n" + role
                    + "source_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/ops\n[profile base]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n",
                "p", ["mfa_serial", "cannot be asked for an MFA code", "credential_process"]
            ),
            (
                "[profile p]\nsso_start_url = https://example.awsapps.com/start\nsso_account_id = 1\n", "p",
                ["sso_start_url", "log in through a browser", "role_arn with source_profile", "credential_process"]
            ),
            ("[profile a]\n" + role + "source_profile = b\n[profile b]\n" + role + "source_profile = a\n", "a", ["source_profile loop: a → b → a"]),
            ("[profile p]\n" + role + "source_profile = nope\n", "p", ["source_profile nope does not exist"]),
            (
                "[profile p]\n" + role + "source_profile = empty\n[profile empty]\nregion = us-east-1\n", "p",
                ["source_profile empty has no credentials"]
            ),
            ("[profile p]\n" + role, "p", ["nothing to assume it with", "source_profile, credential_source or web_identity_token_file"]),
            (
                "[profile p]\n" + role + "credential_source = Bogus\n", "p",
                ["credential_source = Bogus is not one of Environment, Ec2InstanceMetadata, EcsContainer"]
            ),
            ("[profile p]\n" + role + "credential_source = Environment\n", "p", ["credential_source = Environment found no credentials"]),
            (
                "[profile p]\n" + role + "credential_source = Environment\nduration_seconds = 60\n", "p",
                ["duration_seconds must be a whole number from 900 to 43200"]
            ),
            ("[profile p]\n" + role + "credential_source = Environment\nrole_session_name = has space\n", "p", ["role session name 'has space'"]),
            ("[profile p]\nweb_identity_token_file = /tmp/token\n", "p", ["web_identity_token_file without role_arn"]),
        ]
        for (config, profile, expected) in cases {
            let message = try await Self.refusal(config, profile: profile)
            for part in expected { #expect(message.contains(part), "\(part) in: \(message)") }
            #expect(!message.contains(" s\n") && !message.contains("AKIDX"), "no key in: \(message)")
        }
        do {
            _ = try await WebIdentityCredentials(environment: ["AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/x"]).resolve()
            Issue.record("half a web identity was accepted")
        } catch {
            #expect(error.description.contains("AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE go together"), "\(error)")
        }
        #expect(try await WebIdentityCredentials(environment: [:]).resolve() == nil)
        #expect(try WebIdentityCredentials.sessionName(nil, in: "x").hasPrefix("finetuned-"))
    }
}

extension MotoPeerTests {
    @Suite("assumed roles and web identity against moto's STS")
    struct AssumedRoleTests {
        static let first = "arn:aws:iam::123456789012:role/finetuned-first"
        static let second = "arn:aws:iam::123456789012:role/finetuned-second"

        @Test(
            "a chain of two assumed roles, credential_source, web identity from a profile and from the environment: each answered by moto's STS, signed, and the caller is the role"
        )
        func assumeAgainstMoto() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let token = try dir.write("token", "eyJ.first-token.sig\n")
            let config = try dir.write(
                "config",
                """
                [profile base]
                aws_access_key_id = \(moto.credentials.accessKeyID)
                aws_secret_access_key = \(moto.credentials.secretAccessKey)

                [profile first]
                role_arn = \(Self.first)
                source_profile = base
                role_session_name = ft-first
                duration_seconds = 900

                [profile second]
                role_arn = \(Self.second)
                source_profile = first

                [profile fromenv]
                role_arn = \(Self.first)
                credential_source = Environment
                external_id = team-ml

                [profile eks]
                role_arn = \(Self.second)
                web_identity_token_file = \(token)

                [profile svc]
                role_arn = \(Self.first)
                source_profile = base
                services = via-moto

                [services via-moto]
                sts =
                  endpoint_url = \(moto.baseURL)
                """)
            var environment = moto.environment
            environment["AWS_CONFIG_FILE"] = config
            let sts = try STSClient(
                endpoints: AWSEndpoints(
                    configuredRegion: "us-east-1", fips: nil, configuredEndpoint: moto.baseURL,
                    configuredServiceEndpoints: [:], environment: [:], shared: nil))
            func resolve(_ profile: String, without: [String] = []) async throws -> ProvidedCredentials {
                var env = environment.merging(["AWS_PROFILE": profile]) { $1 }
                for key in without { env[key] = nil }
                return try #require(try await SharedFileCredentials(environment: env).resolve())
            }

            let chained = try await resolve("second", without: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
            #expect(chained.source == "assumed role \(Self.second) via source profile first")
            #expect(chained.credentials.sessionToken != nil && chained.credentials.accessKeyID != moto.credentials.accessKeyID)
            #expect(chained.expiration.map { $0 > Date() } == true)
            let caller = try await sts.callerIdentity(chained)
            #expect(caller.contains("assumed-role/finetuned-second/"), "\(caller)")

            // STS found through the profile's services section alone.
            let throughServices = try await resolve("svc", without: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"])
            #expect(try await sts.callerIdentity(throughServices).contains("assumed-role/finetuned-first/"))

            let first = try await resolve("first", without: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
            #expect(try await sts.callerIdentity(first).hasSuffix("assumed-role/finetuned-first/ft-first"))

            let fromEnvironment = try await resolve("fromenv")
            #expect(fromEnvironment.source == "assumed role \(Self.first) via credential_source Environment")
            #expect(try await sts.callerIdentity(fromEnvironment).contains("assumed-role/finetuned-first/finetuned-"))

            // moto reads the Authorization header of every request while it checks signatures,
            // so it cannot take an unsigned AssumeRoleWithWebIdentity then (a 500): checking is
            // off for those calls, and on again for the signed calls made with what they gave.
            try await moto.checkSignatures(false)
            let eks = try await resolve("eks", without: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
            #expect(eks.source.hasPrefix("assumed role \(Self.second) via web identity token \(token)"))

            // The environment's web identity, as EKS sets it, comes right after static keys.
            var pod = environment
            pod["AWS_ACCESS_KEY_ID"] = nil
            pod["AWS_SECRET_ACCESS_KEY"] = nil
            pod["AWS_ROLE_ARN"] = Self.first
            pod["AWS_WEB_IDENTITY_TOKEN_FILE"] = token
            pod["AWS_ROLE_SESSION_NAME"] = "pod-7"
            let chain = CredentialChain.standard(environment: pod)
            let fromPod = try await chain.current()
            try await moto.checkSignatures(true)
            #expect(try await sts.callerIdentity(eks).contains("assumed-role/finetuned-second/"))
            #expect(fromPod.source == "assumed role \(Self.first) via web identity token \(token) (environment)")
            #expect(try await sts.callerIdentity(fromPod).hasSuffix("assumed-role/finetuned-first/pod-7"))
            // A wrong key for the source is refused by STS, not passed over.
            var wrong = environment
            wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
            await #expect(throws: Failure.self) {
                try await SharedFileCredentials(environment: wrong.merging(["AWS_PROFILE": "fromenv"]) { $1 }).resolve()
            }
        }

        @Test(
            "credential_source = EcsContainer and Ec2InstanceMetadata: the source keys from the container endpoint or IMDSv2, then AssumeRole at moto"
        )
        func credentialSources() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let document = """
                {"AccessKeyId": "\(moto.credentials.accessKeyID)", "SecretAccessKey": "\(moto.credentials.secretAccessKey)",
                 "Code": "Success", "Expiration": "\(Date().addingTimeInterval(3600).formatted(.iso8601))"}
                """
            let container = try await LocalHTTPServer { _ in .json(200, document) }
            let imds = try await LocalHTTPServer { request in
                switch (request.method, request.path) {
                case ("PUT", "/latest/api/token"): return .text(200, "token-1")
                case ("GET", "/latest/meta-data/iam/security-credentials/"): return .text(200, "instance-role\n")
                case ("GET", "/latest/meta-data/iam/security-credentials/instance-role"):
                    return request.header("X-aws-ec2-metadata-token") == "token-1" ? .json(200, document) : .text(401, "")
                default: return .text(404, "")
                }
            }
            defer {
                Task {
                    await container.stop()
                    await imds.stop()
                }
            }
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let config = try dir.write(
                "config",
                """
                [profile ecs]
                role_arn = \(Self.first)
                credential_source = EcsContainer

                [profile ec2]
                role_arn = \(Self.second)
                credential_source = Ec2InstanceMetadata
                """)
            var environment = moto.environment
            environment["AWS_ACCESS_KEY_ID"] = nil
            environment["AWS_SECRET_ACCESS_KEY"] = nil
            environment["AWS_EC2_METADATA_DISABLED"] = nil
            environment["AWS_CONFIG_FILE"] = config
            environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = container.baseURL + "/creds"
            environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.baseURL
            let sts = try STSClient(
                endpoints: AWSEndpoints(
                    configuredRegion: "us-east-1", fips: nil, configuredEndpoint: moto.baseURL,
                    configuredServiceEndpoints: [:], environment: [:], shared: nil))
            for (profile, role, via) in [("ecs", "finetuned-first", "EcsContainer"), ("ec2", "finetuned-second", "Ec2InstanceMetadata")] {
                let found = try #require(try await SharedFileCredentials(environment: environment.merging(["AWS_PROFILE": profile]) { $1 }).resolve())
                #expect(found.source.hasSuffix("via credential_source \(via)"), "\(found.source)")
                #expect(found.credentials.accessKeyID != moto.credentials.accessKeyID)
                #expect(try await sts.callerIdentity(found).contains("assumed-role/\(role)/"))
            }
        }

        @Test(
            "finetunectl status --whoami names the assumed role a Bedrock backend acts as; the journal names where its keys came from, never the keys"
        )
        func whoami() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let daemon = try DaemonHarness(configuration: { dir in
                _ = try? dir.write(
                    "aws-config",
                    """
                    [profile base]
                    aws_access_key_id = \(moto.credentials.accessKeyID)
                    aws_secret_access_key = \(moto.credentials.secretAccessKey)

                    [profile first]
                    role_arn = \(Self.first)
                    source_profile = base

                    [profile daemon]
                    role_arn = \(Self.second)
                    source_profile = first
                    role_session_name = ft-daemon
                    """)
                return DaemonHarness.configuration(in: dir) + """

                    [backends.aws]
                    kind = "bedrock"
                    region = "us-east-1"
                    role_arn = "arn:aws:iam::123456789012:role/bedrock-customization"
                    bucket = "finetuned-data"
                    aws_profile = "daemon"
                    endpoint_url = "\(moto.baseURL)"
                    """
            })
            defer { daemon.tearDown() }
            try daemon.start(
                arguments: ["--log-to", "stderr"],
                environment: [
                    "AWS_CONFIG_FILE": daemon.directory.file("aws-config"), "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                    "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true",
                ])
            #expect(await daemon.waitForReady() != nil, "log:\n\(daemon.log)")
            let status = try await daemon.ctl(["status", "--whoami"])
            #expect(status.status == 0, "\(status.stderr)")
            #expect(
                status.stdout.contains("identity:      backend aws: arn:aws:sts::123456789012:assumed-role/finetuned-second/ft-daemon"),
                "\(status.stdout)\nlog:\n\(daemon.log)")
            #expect(!status.stdout.contains("backend local") && !status.stdout.contains("backend slow"), "backends without an identity are left out")
            #expect(daemon.log.contains("AWS credentials from assumed role \(Self.second) via source profile first (key …"), "log:\n\(daemon.log)")
            #expect(!daemon.log.contains(moto.credentials.secretAccessKey))
            let plain = try await daemon.ctl(["status"])
            #expect(!plain.stdout.contains("identity:"), "STS is asked only on request")
        }

        @Test(
            "assumed keys are refreshed before they expire, one refresh at a time, reading a rotated token file anew; an S3 call signs with the role's key"
        )
        func refresh() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            let token = try dir.write("token", "eyJ.first.sig")
            var environment = moto.environment
            environment["AWS_ACCESS_KEY_ID"] = nil
            environment["AWS_SECRET_ACCESS_KEY"] = nil
            environment["AWS_ROLE_ARN"] = Self.first
            environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = token
            let clock = TestClock()
            let chain = CredentialChain(providers: [WebIdentityCredentials(environment: environment)], now: { clock.now })
            // Unsigned web identity calls with moto's signature checking off (see above); on for S3.
            try await moto.checkSignatures(false)
            let before = try await chain.current()
            #expect(try await chain.current() == before, "reused while valid")

            // Rotated by whoever mounts it, then the keys near their end: a new AssumeRole.
            try "eyJ.second.sig".write(toFile: token, atomically: true, encoding: .utf8)
            clock.now = (before.expiration ?? Date()).addingTimeInterval(-60)
            async let a = chain.current()
            async let b = chain.current()
            let (one, two) = try await (a, b)
            #expect(one == two, "concurrent callers share one refresh")
            #expect(one.credentials.accessKeyID != before.credentials.accessKeyID)

            // A token file that went away is an error naming it, not another identity.
            unlink(token)
            clock.now = (one.expiration ?? Date()).addingTimeInterval(-60)
            do {
                _ = try await chain.current()
                Issue.record("credentials without a token")
            } catch {
                #expect(error.description.contains("cannot read the web identity token file \(token)"), "\(error)")
            }

            // The role's keys are what S3 sees: moto accepts them (signature checked) for a bucket.
            try await moto.checkSignatures(true)
            let s3 = AWSServiceClient(
                service: .s3,
                endpoints: try AWSEndpoints(
                    configuredRegion: "us-east-1", fips: nil, configuredEndpoint: moto.baseURL,
                    configuredServiceEndpoints: [:], environment: [:], shared: nil),
                credentials: CredentialChain(providers: [FixedCredentials(one)]), retry: .init(maxAttempts: 1))
            let created = try await s3.send("PUT", path: "/assumed-role-bucket")
            #expect(created.status == 200)
        }
    }
}

/// A clock a test moves by hand.
final class TestClock: Sendable {
    private let value = Mutex(Date())
    var now: Date {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
