import FinetunedTestSupport
import FinetunedText
import FinetunedTime
import Foundation
import Testing

@testable import FinetunedNetwork

/// The credential chain, source by source, with real files, a real `$CREDENTIALS_DIRECTORY`
/// and real HTTP endpoints on 127.0.0.1 standing in for the container agent and IMDS.
@Suite("AWS credentials")
struct AWSCredentialsTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    @Test("environment variables, and a half-set pair is an error rather than a fall-through")
    func environment() async throws {
        let found = try #require(
            try await EnvironmentCredentials(environment: [
                "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_SESSION_TOKEN": "tok",
            ]).resolve())
        #expect(found.credentials == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: Self.secret, sessionToken: "tok"))
        #expect(try await EnvironmentCredentials(environment: [:]).resolve() == nil)
        await #expect(throws: Failure(.credentials, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")) {
            try await EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKID"]).resolve()
        }
    }

    @Test("shared files: AWS_PROFILE picks the section, credentials override config, services give endpoints")
    func sharedFiles() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let config = try dir.write(
            "config",
            """
            # comment
            [default]
            region = eu-west-1

            [profile ops]
            region = us-west-2   # inline comment
            aws_access_key_id = AKIDFROMCONFIG
            aws_secret_access_key = fromconfig
            services = local-stack
            endpoint_url = http://127.0.0.1:1

            [services local-stack]
            s3 =
              endpoint_url = http://127.0.0.1:4566
            bedrock_runtime =
              endpoint_url = http://127.0.0.1:4567
            """)
        let credentials = try dir.write(
            "credentials",
            """
            [default]
            aws_access_key_id = AKIDDEFAULT
            aws_secret_access_key = default-secret
            ; another comment style
            [ops]
            aws_access_key_id = AKIDOPS
            aws_secret_access_key = \(Self.secret)
            aws_session_token = ops-token
            """)
        let environment = ["AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials, "HOME": dir.path]
        let byDefault = try #require(try await SharedFileCredentials(environment: environment).resolve())
        #expect(byDefault.credentials.accessKeyID == "AKIDDEFAULT")
        #expect(byDefault.source == "profile default in \(credentials)")

        var ops = environment
        ops["AWS_PROFILE"] = "ops"
        let found = try #require(try await SharedFileCredentials(environment: ops).resolve())
        #expect(found.credentials == AWSCredentials(accessKeyID: "AKIDOPS", secretAccessKey: Self.secret, sessionToken: "ops-token"))
        let shared = try SharedConfig.load(environment: ops)
        #expect(shared.region == "us-west-2")
        #expect(shared.serviceEndpoints == ["s3": "http://127.0.0.1:4566", "bedrock_runtime": "http://127.0.0.1:4567"])

        let endpoints = try AWSEndpoints(
            configuredRegion: nil, fips: nil, configuredEndpoint: nil, configuredServiceEndpoints: [:],
            environment: ops, shared: shared)
        #expect(endpoints.region == "us-west-2")
        #expect(endpoints.url(for: .s3) == "http://127.0.0.1:4566")
        #expect(endpoints.url(for: .bedrockRuntime) == "http://127.0.0.1:4567")
        #expect(endpoints.url(for: .bedrock) == "http://127.0.0.1:1", "the profile's endpoint_url covers the rest")
    }

    @Test("a profile whose role has no usable source, or an unreadable file, is refused, not skipped")
    func unsupportedProfile() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let config = try dir.write("config", "[profile assumed]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n")
        let environment = ["AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": dir.file("none"), "AWS_PROFILE": "assumed"]
        await #expect(throws: Failure.self) { try await SharedFileCredentials(environment: environment).resolve() }
        let broken = try dir.write("broken", "[default\naws_access_key_id = x\n")
        await #expect(throws: Failure.self) {
            try await SharedFileCredentials(environment: ["AWS_CONFIG_FILE": broken, "AWS_SHARED_CREDENTIALS_FILE": dir.file("none")]).resolve()
        }
    }

    @Test("credential_process: run without a shell, its Version 1 answer read, its expiration honoured; failures say what went wrong")
    func credentialProcess() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func helper(_ name: String, _ body: String) throws -> String {
            let path = try dir.write(name, "#!/bin/sh\n" + body + "\n")
            chmod(path, 0o755)
            return path
        }
        let expiresAt = Date().addingTimeInterval(3600)
        let expires = UTCTime(expiresAt).iso8601
        let good = try helper(
            "good helper",
            """
            [ "$1" = "--profile" ] && [ "$2" = "two words" ] || { echo "unexpected arguments: $*" >&2; exit 3; }
            printf '{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "process/secret", "SessionToken": "tok", "Expiration": "\(expires)"}'
            """)
        func resolve(_ command: String) async throws -> ProvidedCredentials? {
            let config = try dir.write("config", "[profile helper]\ncredential_process = \(command)\n")
            return try await SharedFileCredentials(environment: [
                "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": dir.file("none"),
                "AWS_PROFILE": "helper", "PATH": "/usr/bin:/bin",
            ]).resolve()
        }
        // Quotes group words and no shell expands anything: a space in the path, a quoted argument.
        let found = try #require(try await resolve("\"\(good)\" --profile 'two words'"))
        #expect(found.credentials == AWSCredentials(accessKeyID: "AKIDPROCESS", secretAccessKey: "process/secret", sessionToken: "tok"))
        #expect(found.source == "credential_process of profile helper")
        #expect(
            found.expiration?.timeIntervalSince1970 == expiresAt.timeIntervalSince1970.rounded(.down),
            "temporary, until the Expiration it printed: refreshed before then")

        func refusal(_ command: String) async -> String {
            do {
                _ = try await resolve(command)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(await refusal(try helper("bad-json", "echo 'not json'")).contains("printed something that is not a credentials document"))
        #expect(await refusal(try helper("fails", "echo 'no session' >&2; exit 1")).contains("exited with status 1"))
        #expect(await refusal(try helper("v2", #"echo '{"Version": 2, "AccessKeyId": "a", "SecretAccessKey": "b"}'"#)).contains("answered Version 2"))
        #expect(await refusal("no-such-helper --x").contains("cannot find the program 'no-such-helper'"))
        #expect(await refusal("'unbalanced").contains("ends inside a quote"))
        let slow = try helper("slow", "sleep 30")
        let started = ContinuousClock.now
        do {
            _ = try await CredentialProcess(commandLine: slow, profile: "helper", environment: [:], timeout: .seconds(1)).run()
            Issue.record("a helper past its deadline must fail")
        } catch {
            #expect(error.description.contains("did not answer within 1 s; it was killed"), "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(20), "killed at the deadline, not waited for")
    }

    @Test("an SSO profile names the key and what to use instead")
    func ssoProfileMessage() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let config = try dir.write("config", "[profile people]\nsso_session = corp\nsso_account_id = 123456789012\n")
        do {
            _ = try await SharedFileCredentials(environment: [
                "AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": dir.file("none"), "AWS_PROFILE": "people",
            ]).resolve()
            Issue.record("refused")
        } catch {
            #expect(error.description.contains("uses sso_session") && error.description.contains("credential_process"), "\(error)")
        }
    }

    @Test("systemd's LoadCredential= file in $CREDENTIALS_DIRECTORY")
    func systemdCredential() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        _ = try dir.write("aws", "[default]\naws_access_key_id = AKIDSYSTEMD\naws_secret_access_key = \(Self.secret)\n")
        let found = try #require(try await SystemdCredentials(environment: ["CREDENTIALS_DIRECTORY": dir.path]).resolve())
        #expect(found.credentials.accessKeyID == "AKIDSYSTEMD")
        #expect(found.source == "systemd credential 'aws'")
        #expect(try await SystemdCredentials(environment: [:]).resolve() == nil)
        await #expect(throws: Failure.self) {
            try await SystemdCredentials(environment: ["CREDENTIALS_DIRECTORY": dir.path, "AWS_PROFILE": "other"]).resolve()
        }
    }

    static func document(key: String, expires: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return
            #"{"Code":"Success","AccessKeyId":"\#(key)","SecretAccessKey":"\#(secret)","Token":"session-\#(key)","Expiration":"\#(formatter.string(from: expires))"}"#
    }

    @Test("container credentials: full URI on loopback, the authorization token from its file")
    func container() async throws {
        let expires = Date().addingTimeInterval(3600)
        let server = try await LocalHTTPServer { request in
            guard request.path == "/creds" else { return .text(404, "no") }
            guard request.header("Authorization") == "Bearer pod-token" else { return .text(401, "bad token") }
            return .json(200, Self.document(key: "AKIDCONTAINER", expires: expires))
        }
        defer { Task { await server.stop() } }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let tokenFile = try dir.write("token", "Bearer pod-token\n")
        let found = try #require(
            try await ContainerCredentials(environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
            ]).resolve())
        #expect(
            found.credentials == AWSCredentials(accessKeyID: "AKIDCONTAINER", secretAccessKey: Self.secret, sessionToken: "session-AKIDCONTAINER"))
        #expect(abs(found.expiration!.timeIntervalSince(expires)) < 1)

        await #expect(throws: Failure(.credentials, "the container credentials endpoint answered HTTP 401")) {
            try await ContainerCredentials(environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer wrong",
            ]).resolve()
        }
        await #expect(throws: Failure.self, "plain http to a non-loopback host could leak the token") {
            try await ContainerCredentials(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds"]).resolve()
        }
    }

    /// IMDSv2 as EC2 serves it: a PUT for a token, GETs that must carry it.
    actor InstanceMetadata {
        var issued = 0
        var served = 0
        var lifetime: TimeInterval = 3600
        var unauthenticatedGets = 0

        func setLifetime(_ seconds: TimeInterval) { lifetime = seconds }

        func handle(_ request: ReceivedRequest) async -> ServerAction {
            switch (request.method, request.path) {
            case ("PUT", "/latest/api/token"):
                guard request.header("X-aws-ec2-metadata-token-ttl-seconds") != nil else { return .text(400, "ttl required") }
                issued += 1
                return .text(200, "token-\(issued)")
            case ("GET", let path) where path.hasPrefix("/latest/meta-data/iam/security-credentials/"):
                guard let token = request.header("X-aws-ec2-metadata-token"), token.hasPrefix("token-") else {
                    unauthenticatedGets += 1
                    return .text(401, "")
                }
                if path.hasSuffix("/") { return .text(200, "finetuned-role\n") }
                guard path.hasSuffix("/finetuned-role") else { return .text(404, "") }
                served += 1
                // Small delay so that concurrent callers overlap.
                try? await Task.sleep(for: .milliseconds(50))
                return .json(200, AWSCredentialsTests.document(key: "AKIDIMDS\(served)", expires: Date().addingTimeInterval(lifetime)))
            default:
                return .text(404, "")
            }
        }
    }

    @Test("instance metadata with IMDSv2 tokens; switched off, or absent, it is skipped")
    func instanceMetadata() async throws {
        let imds = InstanceMetadata()
        let server = try await LocalHTTPServer { await imds.handle($0) }
        defer { Task { await server.stop() } }
        // A generous timeout: the suite runs in parallel on two cores (the default is 1 s).
        let patient = HTTPTransport(timeout: .seconds(15))
        let found = try #require(
            try await InstanceMetadataCredentials(
                environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL + "/"],
                client: patient
            ).resolve())
        #expect(found.credentials.accessKeyID == "AKIDIMDS1")
        #expect(found.source == "instance profile role finetuned-role")
        #expect(await imds.unauthenticatedGets == 0)
        #expect(
            try await InstanceMetadataCredentials(environment: [
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL,
                "AWS_EC2_METADATA_DISABLED": "true",
            ]).resolve() == nil)
        // Nobody listening (off EC2): not configured, no error.
        let nobody = try PeerProcess.freePort()
        #expect(
            try await InstanceMetadataCredentials(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(nobody)"]).resolve() == nil)
    }

    @Test("the chain: first source wins, temporary keys refreshed before expiry, concurrent callers share one fetch")
    func chainRefresh() async throws {
        let imds = InstanceMetadata()
        let server = try await LocalHTTPServer { await imds.handle($0) }
        defer { Task { await server.stop() } }
        let environment = [
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL, "AWS_CONFIG_FILE": "/nonexistent/config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        ]
        let chain = CredentialChain.standard(environment: environment, instanceMetadataTimeout: .seconds(15))
        let first = try await withThrowingTaskGroup(of: ProvidedCredentials.self) { group in
            for _ in 0..<8 { group.addTask { try await chain.current() } }
            var all: [ProvidedCredentials] = []
            for try await one in group { all.append(one) }
            return all
        }
        #expect(Set(first.map(\.credentials.accessKeyID)) == ["AKIDIMDS1"])
        #expect(await imds.served == 1, "eight concurrent callers, one fetch")
        #expect(try await chain.current().credentials.accessKeyID == "AKIDIMDS1", "an hour left: cached")
        #expect(await imds.served == 1)

        // Keys that expire within the five-minute margin are fetched again on next use.
        await imds.setLifetime(120)
        await chain.invalidate()
        #expect(try await chain.current().credentials.accessKeyID == "AKIDIMDS2")
        #expect(try await chain.current().credentials.accessKeyID == "AKIDIMDS3")
        #expect(await imds.served == 3)

        let withEnvironment = CredentialChain.standard(
            environment: environment.merging(
                ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": Self.secret]) { $1 }, instanceMetadataTimeout: .seconds(15))
        #expect(try await withEnvironment.current().source == "environment")
        #expect(await imds.served == 3, "the environment wins; IMDS is not asked")
    }

    @Test("secrets never show in descriptions")
    func redaction() {
        let provided = ProvidedCredentials(
            credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: Self.secret, sessionToken: "the-token"),
            source: "environment")
        for text in ["\(provided)", String(describing: provided.credentials), String(reflecting: provided)] {
            #expect(!text.contains(Self.secret) && !text.contains("the-token"), "\(text)")
        }
    }
}

@Suite("AWS endpoints and errors")
struct AWSEndpointTests {
    @Test("precedence: finetuned's setting, AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then the regional endpoint")
    func precedence() throws {
        let environment = [
            "AWS_REGION": "eu-central-1", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:9001/",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        ]
        let endpoints = try AWSEndpoints(
            configuredRegion: nil, fips: nil, configuredEndpoint: nil,
            configuredServiceEndpoints: [.s3: "http://127.0.0.1:9002"], environment: environment, shared: nil)
        #expect(endpoints.region == "eu-central-1")
        #expect(endpoints.url(for: .s3) == "http://127.0.0.1:9002")
        #expect(endpoints.url(for: .bedrockRuntime) == "http://127.0.0.1:9001")
        #expect(endpoints.url(for: .bedrock) == "http://127.0.0.1:9000")

        let ignoring = try AWSEndpoints(
            configuredRegion: "us-east-1", fips: nil, configuredEndpoint: nil, configuredServiceEndpoints: [:],
            environment: environment.merging(["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]) { $1 }, shared: nil)
        #expect(ignoring.url(for: .bedrock) == "https://bedrock.us-east-1.amazonaws.com")
        #expect(ignoring.url(for: .bedrockRuntime) == "https://bedrock-runtime.us-east-1.amazonaws.com")
        #expect(ignoring.url(for: .sesv2) == "https://email.us-east-1.amazonaws.com")

        let fips = try AWSEndpoints(
            configuredRegion: "us-gov-west-1", fips: true, configuredEndpoint: nil, configuredServiceEndpoints: [:],
            environment: [:], shared: nil)
        #expect(fips.url(for: .bedrock) == "https://bedrock-fips.us-gov-west-1.amazonaws.com")
        #expect(fips.url(for: .s3) == "https://s3-fips.us-gov-west-1.amazonaws.com")
        #expect(throws: Failure.self) {
            try AWSEndpoints(
                configuredRegion: nil, fips: nil, configuredEndpoint: nil, configuredServiceEndpoints: [:], environment: [:], shared: nil)
        }
        #expect(throws: Failure.self) {
            try AWSEndpoints(
                configuredRegion: "US East", fips: nil, configuredEndpoint: nil, configuredServiceEndpoints: [:], environment: [:], shared: nil)
        }
    }

    @Test("errors are read from x-amzn-errortype, __type, code and XML, and sorted into retryable or not")
    func errorParsing() {
        let header = AWSError.parse(
            HTTPResponse(
                status: 400, headers: [("x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/")],
                body: Array(#"{"message":"1 validation error detected"}"#.utf8)))
        #expect(header.code == "ValidationException" && header.message == "1 validation error detected" && !header.isRetryable)
        let typed = AWSError.parse(
            HTTPResponse(
                status: 429, headers: [("Retry-After", "2")],
                body: Array(#"{"__type":"com.amazon.bedrock#ThrottlingException","Message":"slow down"}"#.utf8)))
        #expect(typed.code == "ThrottlingException" && typed.isRetryable && typed.retryAfter == .seconds(2))
        // A number from outside: never trusted to fit, never a reason to wait a year.
        for (header, expected) in [
            ("inf", nil), ("nan", nil), ("1e300", nil), ("-5", nil), ("2.5", nil), ("Wed, 21 Oct 2026 07:28:00 GMT", nil),
            ("99999999999999999999999", Duration.seconds(3600)), ("86400", .seconds(3600)), (" 7 ", .seconds(7)),
        ] as [(String, Duration?)] {
            #expect(AWSError.parse(HTTPResponse(status: 429, headers: [("Retry-After", header)], body: [])).retryAfter == expected, "\(header)")
        }
        #expect(Duration.fractionalSeconds(.infinity) == .seconds(1_000_000_000) && Duration.fractionalSeconds(.nan) == .zero)
        let xml = AWSError.parse(
            HTTPResponse(
                status: 403, headers: [],
                body: Array(
                    """
                    <?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match &amp; so on</Message><RequestId>abc</RequestId></Error>
                    """.utf8)))
        #expect(xml.code == "SignatureDoesNotMatch" && xml.message.hasSuffix("match & so on") && xml.requestID == "abc" && !xml.isRetryable)
        let quota = AWSError.parse(
            HTTPResponse(status: 400, headers: [], body: Array(#"{"code":"ServiceQuotaExceededException","message":"limit"}"#.utf8)))
        #expect(quota.code == "ServiceQuotaExceededException" && !quota.isRetryable)
        let gateway = AWSError.parse(HTTPResponse(status: 502, headers: [], body: []))
        #expect(gateway.code == "BadGateway" && gateway.isRetryable)
        #expect(AWSError.parse(HTTPResponse(status: 429, headers: [], body: Array(#"{"__type":"ModelNotReadyException"}"#.utf8))).isRetryable)
    }
}
