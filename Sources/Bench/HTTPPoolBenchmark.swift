import FinetunedBedrockBackend
import FinetunedConfig
import FinetunedNetwork
import FinetunedTestSupport
import Foundation
import Logging

/// 200 InvokeModel calls to the Bedrock emulator over TLS (its certificate from a private CA),
/// four at a time as `invoke_concurrency` allows by default: through the daemon's pooled
/// connections, and against the same emulator closing every connection after one answer, so
/// each call pays a TCP connect and a TLS handshake, as the hand-written client (one
/// connection per request) did before async-http-client.
enum HTTPPoolBenchmark {
    static let calls = 200

    static func run() async throws {
        print("InvokeModel over TLS to the emulator, \(calls) calls, 4 at a time:")
        let dir = try TemporaryDirectory(prefix: "ftbenchtls")
        defer { dir.remove() }
        let certificates = try TestCertificates(in: dir)
        for keepAlive in [true, false] {
            let key = AWSCredentials(accessKeyID: "AKIDBENCH", secretAccessKey: "bench/secret")
            let emulator = BedrockEmulator(credentials: [key])
            let url = try await emulator.start(tls: try certificates.serverContext(), keepAlive: keepAlive)
            var settings = BedrockSettings(roleARN: "arn:aws:iam::123456789012:role/finetuned", bucket: "finetuned-data")
            settings.region = "us-east-1"
            settings.endpointURL = url
            settings.caFile = certificates.ca
            let backend = try BedrockBackend(
                name: "bench", settings: settings,
                environment: [
                    "AWS_ACCESS_KEY_ID": key.accessKeyID, "AWS_SECRET_ACCESS_KEY": key.secretAccessKey,
                    "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                ],
                logger: Logger(label: "bench"))
            let body = #"{"inputText": "Summarise: the cache was cold.", "textGenerationConfig": {"maxTokenCount": 20}}"#
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                var next = 0
                func add() {
                    next += 1
                    group.addTask { _ = try await backend.invoke(modelID: "amazon.titan-text-lite-v1", body: body) }
                }
                for _ in 0..<4 { add() }
                while try await group.next() != nil { if next < calls { add() } }
            }
            let elapsed = start.duration(to: .now)
            let seconds = elapsed.seconds
            let opened = await emulator.connectionsAccepted
            await emulator.stop()
            let label = keepAlive ? "pooled (async-http-client):" : "a connection per call:     "
            print(String(format: "  %@ %4d connections, %.2f s, %.1f ms a call", label, opened, seconds, seconds * 1000 / Double(calls)))
        }
    }
}
