import Crypto
import FinetunedNetwork
import FinetunedTestSupport
import FinetunedText
import Foundation
import Testing

/// The S3 client against moto with signature checking on: a wrongly signed request fails.
extension MotoPeerTests {
    @Suite("S3 client against moto", .serialized)
    struct S3ClientTests {
        @Test("PutObject and GetObject, keys with spaces; a wrong key is refused")
        func putAndGet() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let client = try moto.client(.s3)
            _ = try await client.send("PUT", path: "/finetuned-data")
            let s3 = S3Client(client: client)
            let location = S3Location(bucket: "finetuned-data", key: "finetuned/summaries/wf 1/train set.jsonl")
            let body = Array("{\"prompt\":\"a\",\"completion\":\"b\"}\n".utf8)
            try await s3.putObject(location, body: body, contentType: "application/jsonl", tags: ["finetuned:workflow-id": "wf 1"])
            #expect(try await s3.getObject(location) == body)

            await #expect(throws: AWSError.self) { try await s3.getObject(location.appending("missing")) }
            do {
                _ = try await s3.getObject(S3Location(bucket: "finetuned-data", key: "nope"))
            } catch {
                #expect(error.code == "NoSuchKey" && !error.isRetryable)
            }

            var wrong = moto.environment
            wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
            let wrongClient = AWSServiceClient(
                service: .s3, endpoints: client.endpoints,
                credentials: CredentialChain(providers: [EnvironmentCredentials(environment: wrong)]), retry: .init(maxAttempts: 1))
            do {
                try await S3Client(client: wrongClient).putObject(location, body: body)
                Issue.record("moto accepted a request signed with the wrong secret")
            } catch {
                #expect(error.code == "SignatureDoesNotMatch", "\(error)")
            }
        }

        /// moto's verifier rejects correctly signed requests whose key is not ASCII (or holds `+`). botocore
        /// is refused the same way, which shows the fault is moto's; with checking off, the key
        /// round-trips. (Our signer's agreement with botocore on such paths is in SigV4Tests.)
        @Test("non-ASCII keys: moto's verifier refuses botocore too; unchecked, the object round-trips")
        func nonASCIIKey() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let client = try moto.client(.s3)
            _ = try await client.send("PUT", path: "/finetuned-data")
            let location = S3Location(bucket: "finetuned-data", key: "finetuned/é/train.jsonl")
            var ours: AWSError?
            do { try await S3Client(client: client).putObject(location, body: [1]) } catch { ours = error }
            #expect(ours?.code == "SignatureDoesNotMatch")
            let python = try #require(Command.which("python3"))
            let script = """
                import sys, boto3
                s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
                try:
                    s3.put_object(Bucket="finetuned-data", Key="finetuned/\\u00e9/train.jsonl", Body=b"x")
                    print("accepted")
                except Exception as e:
                    print(e.response["Error"]["Code"])
                """
            let botocore = try await blocking {
                try Command.run(python, ["-c", script, moto.baseURL, moto.credentials.accessKeyID, moto.credentials.secretAccessKey])
            }
            #expect(botocore.stdout.hasPrefix("SignatureDoesNotMatch"), "\(botocore.stdout) \(botocore.stderr)")
            try await moto.checkSignatures(false)
            try await S3Client(client: client).putObject(location, body: [7, 8])
            #expect(try await S3Client(client: client).getObject(location) == [7, 8])
        }

        /// Multipart calls are checked by moto's verifier, except ListMultipartUploads with a
        /// prefix holding `/`: moto refuses botocore's request for it too (shown below), so
        /// `uploadFile`, which lists before uploading, runs with checking off.
        @Test("a file above the threshold goes up in parts of bounded size; a stale upload of the same key is aborted first")
        func multipart() async throws {
            let moto = try await blocking { try MotoServer() }
            defer { moto.stop() }
            let client = try moto.client(.s3)
            _ = try await client.send("PUT", path: "/finetuned-data")
            let s3 = S3Client(client: client, multipartThreshold: 6 << 20, partSize: 5 << 20)
            let dir = try TemporaryDirectory()
            defer { dir.remove() }
            // 12 MiB + 3 bytes of varied content: three parts, the last one small.
            let content = Array(try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: (12 << 20) + 3))
            let file = dir.file("train.jsonl")
            _ = FileManager.default.createFile(atPath: file, contents: Data(content))
            let location = S3Location(bucket: "finetuned-data", key: "finetuned/p/wf-2/train.jsonl")

            // Signature-checked: a multipart upload by hand, two parts, completed.
            let manual = S3Location(bucket: "finetuned-data", key: "finetuned/p/wf-1/train.jsonl")
            let upload = try await s3.createMultipartUpload(manual, contentType: "application/jsonl")
            let parts = [
                try await s3.uploadPart(upload, number: 1, body: Array(content.prefix(5 << 20))),
                try await s3.uploadPart(upload, number: 2, body: Array(content[(5 << 20)..<(6 << 20)])),
            ]
            #expect(try await s3.completeMultipartUpload(upload, parts: parts).contains("-2"))
            #expect(try await s3.getObject(manual) == Array(content.prefix(6 << 20)))

            // What a crash mid-upload leaves: an open multipart upload with a part in it.
            let stale = try await s3.createMultipartUpload(location, contentType: "application/jsonl")
            _ = try await s3.uploadPart(stale, number: 1, body: Array(content.prefix(5 << 20)))

            let prefix = S3Location(bucket: "finetuned-data", key: "finetuned/p/wf-2/")
            await #expect(throws: AWSError.self) { try await s3.listMultipartUploads(prefix) }
            let python = try #require(Command.which("python3"))
            let botocore = try await blocking {
                try Command.run(
                    python,
                    [
                        "-c",
                        """
                        import sys, boto3
                        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
                        try:
                            s3.list_multipart_uploads(Bucket="finetuned-data", Prefix="finetuned/p/wf-2/")
                            print("accepted")
                        except Exception as e:
                            print(e.response["Error"]["Code"])
                        """, moto.baseURL, moto.credentials.accessKeyID, moto.credentials.secretAccessKey,
                    ])
            }
            #expect(botocore.stdout.hasPrefix("SignatureDoesNotMatch"), "\(botocore.stdout) \(botocore.stderr)")

            try await moto.checkSignatures(false)
            #expect(try await s3.listMultipartUploads(prefix) == [stale])
            let etag = try await s3.uploadFile(file, to: location, contentType: "application/jsonl")
            #expect(etag.contains("-3"), "a three-part upload's ETag ends in -3: \(etag)")
            let back = try await s3.getObject(location)
            #expect(back.count == content.count && SHA256.hash(data: back) == SHA256.hash(data: content))
            #expect(
                try await s3.listMultipartUploads(S3Location(bucket: "finetuned-data", key: "finetuned/p/")).isEmpty,
                "the stale upload was aborted and the new one completed")

            // Small files go in one PutObject (a plain ETag, no part count).
            let small = dir.file("small.jsonl")
            _ = FileManager.default.createFile(atPath: small, contents: Data("{}\n".utf8))
            #expect(!(try await s3.uploadFile(small, to: S3Location(bucket: "finetuned-data", key: "finetuned/p/wf-3/small.jsonl"))).contains("-"))

            // The validated bytes, or nothing: a file changed since its check is not uploaded,
            // whole or in parts, and an unreadable one is an error, not an empty object.
            let validated = SHA256.hash(data: content).hex
            let changed = dir.file("changed.jsonl")
            _ = FileManager.default.createFile(atPath: changed, contents: Data(content.dropLast()) + Data("X".utf8))
            for (name, path) in [("changed-small", small), ("changed-parts", changed)] {
                let target = S3Location(bucket: "finetuned-data", key: "finetuned/p/wf-4/\(name).jsonl")
                do {
                    _ = try await s3.uploadFile(path, to: target, expectedSHA256: validated)
                    Issue.record("\(name): a changed file was uploaded")
                } catch {
                    #expect(
                        error.code == AWSError.localFileCode && error.message.contains("changed since it was validated") && !error.isRetryable,
                        "\(name): \(error)")
                }
                await #expect(throws: AWSError.self, "\(name): nothing at the key") { _ = try await s3.getObject(target) }
            }
            #expect(
                try await s3.listMultipartUploads(S3Location(bucket: "finetuned-data", key: "finetuned/p/wf-4/")).isEmpty, "the parts were aborted")
            #expect(
                try await s3.uploadFile(
                    file, to: S3Location(bucket: "finetuned-data", key: "finetuned/p/wf-4/same.jsonl"),
                    expectedSHA256: validated
                ).contains("-3"), "the validated bytes go")
            let unreadable = dir.file("directory.jsonl")
            try FileManager.default.createDirectory(atPath: unreadable, withIntermediateDirectories: true)
            await #expect(throws: AWSError.self, "a file that cannot be read is an error") {
                _ = try await s3.uploadFile(unreadable, to: S3Location(bucket: "finetuned-data", key: "finetuned/p/wf-4/dir.jsonl"))
            }
        }

        @Test("s3:// URIs and virtual-hosted addressing")
        func addressing() throws {
            #expect(S3Location(uri: "s3://bucket/a/b.jsonl") == S3Location(bucket: "bucket", key: "a/b.jsonl"))
            #expect(S3Location(uri: "s3://bucket") == S3Location(bucket: "bucket", key: ""))
            #expect(S3Location(uri: "s3:///key") == nil && S3Location(uri: "https://x/y") == nil)
            #expect(S3Location(bucket: "b", key: "prefix/").appending("p", "wf/").key == "prefix/p/wf")
            let endpoints = try AWSEndpoints(
                configuredRegion: "eu-west-1", fips: nil, configuredEndpoint: nil, configuredServiceEndpoints: [:],
                environment: [:], shared: nil)
            let client = AWSServiceClient(service: .s3, endpoints: endpoints, credentials: CredentialChain(providers: []))
            let hosted = S3Client(client: client).address(S3Location(bucket: "data", key: "a b/c"))
            #expect(hosted.baseURL == "https://data.s3.eu-west-1.amazonaws.com" && hosted.path == "/a%20b/c")
            let pathStyle = S3Client(client: client, forcePathStyle: true).address(S3Location(bucket: "data", key: "a b/c"))
            #expect(pathStyle.baseURL == "https://s3.eu-west-1.amazonaws.com" && pathStyle.path == "/data/a%20b/c")
            #expect(S3Client(client: client).address(S3Location(bucket: "with.dots", key: "k")).path == "/with.dots/k")
        }
    }
}
