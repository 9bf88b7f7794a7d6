import FinetunedNetwork
import Foundation

/// A Bedrock of our own for what moto lacks: jobs that finish (or fail) when the test says,
/// provisioned throughput `Creating → InService → deleted`, InvokeModel answering in each
/// model family's response shape with deterministic text, and faults on demand (throttling,
/// 5xx, slowness, reset connections, failed jobs, quota errors). Every API request must be
/// signed with a key it knows; `/_emulator/…` is its unsigned control surface.
///
/// Served over real HTTP on 127.0.0.1 (`LocalHTTPServer`); the tests run it in process and
/// `finetuned-bedrock-emulator` runs it alone.
public actor BedrockEmulator {
    public let region: String
    let secrets: [String: String]
    let account = "123456789012"
    public internal(set) var jobs: [EmulatedJob] = []
    public internal(set) var throughputs: [EmulatedThroughput] = []
    public internal(set) var models: [EmulatedModel] = []
    public internal(set) var deletedThroughputs: [String] = []
    public internal(set) var deletedModels: [String] = []
    /// InvokeModel calls per model id as sent.
    public internal(set) var invocations: [String: Int] = [:]
    public internal(set) var signatureFailures = 0
    /// The most InvokeModel calls that were in flight at once.
    public internal(set) var peakConcurrentInvocations = 0
    var concurrentInvocations = 0
    public var faults = EmulatorFaults()
    public var answers = EmulatedAnswers.better
    /// GETs of a job before it ends; of a throughput before it is in service.
    /// How long each InvokeModel answer takes, so concurrent callers overlap as they would
    /// against the service.
    public var invokeLatency: Duration = .milliseconds(5)
    public var jobPolls = 2
    public var throughputPolls = 2
    /// Prompt → reference, for `better` answers.
    public var references: [(prompt: String, reference: String)] = []
    /// Where a completed job's metric files are written (moto's S3), when set.
    public var artifactStore: S3Client?
    var counter = 0
    private var server: LocalHTTPServer?

    public init(region: String = "us-east-1", credentials: [AWSCredentials]) {
        self.region = region
        secrets = Dictionary(credentials.map { ($0.accessKeyID, $0.secretAccessKey) }, uniquingKeysWith: { a, _ in a })
    }

    /// Starts serving on `port` of 127.0.0.1 (a free one when 0); returns the base URL.
    @discardableResult
    public func start(port: Int = 0) async throws -> String {
        let server = try await LocalHTTPServer(port: port) { [weak self] request in
            guard let self else { return .dropConnection }
            return await self.handle(request)
        }
        self.server = server
        return server.baseURL
    }

    public var baseURL: String { server?.baseURL ?? "" }

    public func stop() async { await server?.stop() }

    public func set(faults: EmulatorFaults) { self.faults = faults }
    public func set(answers: EmulatedAnswers) { self.answers = answers }
    public func set(invokeLatency: Duration) { self.invokeLatency = invokeLatency }
    public func set(references: [(prompt: String, reference: String)]) { self.references = references }
    public func set(artifactStore: S3Client?) { self.artifactStore = artifactStore }
    public func set(jobPolls: Int, throughputPolls: Int) {
        self.jobPolls = jobPolls
        self.throughputPolls = throughputPolls
    }

    // MARK: - Dispatch

    func handle(_ request: ReceivedRequest) async -> ServerAction {
        if request.path.hasPrefix("/_emulator/") { return control(request) }
        if let failure = SignatureCheck.failure(request, secrets: secrets, region: region) {
            signatureFailures += 1
            return Self.error(403, failure.code, failure.message)
        }
        if faults.delayMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(faults.delayMilliseconds)) }
        if faults.resets > 0 { faults.resets -= 1; return .dropConnection }
        if faults.throttle > 0 {
            faults.throttle -= 1
            return Self.error(429, "ThrottlingException", "Too many requests, please wait before trying again.", headers: [("Retry-After", "0")])
        }
        if faults.serverErrors > 0 { faults.serverErrors -= 1; return Self.error(500, "InternalServerException", "Internal server error") }

        let segments = request.path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        switch (request.method, segments.count, segments.first) {
        case ("POST", 1, "model-customization-jobs"): return createJob(request)
        case ("GET", 2, "model-customization-jobs"): return await getJob(segments[1])
        case ("POST", 3, "model-customization-jobs") where segments[2] == "stop": return stopJob(segments[1])
        case ("POST", 1, "provisioned-model-throughput"): return createThroughput(request)
        case ("GET", 2, "provisioned-model-throughput"): return getThroughput(segments[1])
        case ("DELETE", 2, "provisioned-model-throughput"): return deleteThroughput(segments[1])
        case ("GET", 2, "custom-models"): return getModel(segments[1])
        case ("DELETE", 2, "custom-models"): return deleteModel(segments[1])
        case ("GET", 2, "foundation-models"): return getFoundationModel(segments[1])
        case ("POST", 3, "model") where segments[2] == "invoke": return await invoke(segments[1], request)
        default: return Self.error(404, "UnknownOperationException", "no operation \(request.method) \(request.path)")
        }
    }

    static func error(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = []) -> ServerAction {
        .json(status, json(["message": message]), headers: [("x-amzn-ErrorType", code + ":http://internal.amazon.com/coral/com.amazon.bedrock/")] + headers)
    }

    static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8),
               as: UTF8.self)
    }

    static func body(_ request: ReceivedRequest) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]
    }

    func nextID() -> String {
        counter += 1
        let mixed = (UInt64(counter) &* 0x9E37_79B9_7F4A_7C15) >> 16
        return String(mixed, radix: 36)
    }

    static func matches(_ value: String, _ pattern: String) -> Bool {
        value.range(of: pattern, options: .regularExpression) != nil
    }

    static func tags(_ list: Any?) -> [String: String] {
        var out: [String: String] = [:]
        for item in list as? [[String: Any]] ?? [] {
            if let key = item["key"] as? String, let value = item["value"] as? String { out[key] = value }
        }
        return out
    }

    static func timestamp() -> String { ISO8601DateFormatter().string(from: Date()) }
}
