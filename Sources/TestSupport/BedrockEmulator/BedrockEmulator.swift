import FinetunedNetwork
import Foundation
import NIOSSL

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
    var secrets: [String: String]
    let account = "123456789012"
    public internal(set) var jobs: [EmulatedJob] = []
    public internal(set) var throughputs: [EmulatedThroughput] = []
    public internal(set) var models: [EmulatedModel] = []
    public internal(set) var deletedThroughputs: [String] = []
    public internal(set) var deployments: [EmulatedDeployment] = []
    public internal(set) var deletedDeployments: [String] = []
    public internal(set) var deletedModels: [String] = []
    /// InvokeModel and Converse calls per model id as sent.
    public internal(set) var invocations: [String: Int] = [:]
    /// Of those, the Converse calls.
    public internal(set) var conversations: [String: Int] = [:]
    /// The last request body sent to each model id.
    public internal(set) var lastBodies: [String: String] = [:]
    public internal(set) var signatureFailures = 0
    /// The access key of every signed request, in order: which identity called.
    public internal(set) var accessKeys: [String] = []
    /// Asked for the secret of a key the emulator was not given: keys an STS issued (moto's,
    /// in the assumed-role tests), as the service would learn of them from IAM.
    public var issuedKeySecret: (@Sendable (String) async -> String?)?
    /// The most InvokeModel calls that were in flight at once.
    public internal(set) var peakConcurrentInvocations = 0
    var concurrentInvocations = 0
    public var faults = EmulatorFaults()
    /// Resources still invisible to Get (`EmulatorFaults.notFoundAfterCreate`): ARN → Gets left.
    var invisible: [String: Int] = [:]
    /// Get calls answered "not found" because of `notFoundAfterCreate`.
    public internal(set) var hiddenGets = 0
    public var answers = EmulatedAnswers.better
    /// GETs of a job before it ends; of a throughput before it is in service.
    /// How long each InvokeModel answer takes, so concurrent callers overlap as they would
    /// against the service.
    public var invokeLatency: Duration = .milliseconds(5)
    public var jobPolls = 2
    public var throughputPolls = 2
    /// GETs of a deployment before it is active.
    public var deploymentPolls = 2
    /// Prompt → reference, for `better` answers.
    public var references: [(prompt: String, reference: String)] = []
    /// Where a completed job's metric files are written (moto's S3), when set.
    public var artifactStore: S3Client?
    var counter = 0
    private var server: LocalHTTPServer?

    /// Trusts keys issued elsewhere (see `issuedKeySecret`).
    public func set(issuedKeySecret lookup: @escaping @Sendable (String) async -> String?) {
        issuedKeySecret = lookup
    }

    public init(region: String = "us-east-1", credentials: [AWSCredentials]) {
        self.region = region
        secrets = Dictionary(credentials.map { ($0.accessKeyID, $0.secretAccessKey) }, uniquingKeysWith: { a, _ in a })
    }

    /// Starts serving on `port` of 127.0.0.1 (a free one when 0); returns the base URL.
    @discardableResult
    /// - Parameters: `tls` and `keepAlive` as `LocalHTTPServer` takes them.
    public func start(port: Int = 0, tls: NIOSSLContext? = nil, keepAlive: Bool = true) async throws -> String {
        let server = try await LocalHTTPServer(port: port, tls: tls, keepAlive: keepAlive) { [weak self] request in
            guard let self else { return .dropConnection }
            return await self.handle(request)
        }
        self.server = server
        return server.baseURL
    }

    /// Connections the emulator has accepted (one per request from a client that keeps none).
    public var connectionsAccepted: Int { server?.connectionsAccepted ?? 0 }

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
        if let key = SignatureCheck.accessKey(of: request) {
            accessKeys.append(key)
            if secrets[key] == nil, let lookup = issuedKeySecret, let secret = await lookup(key) { secrets[key] = secret }
        }
        if let failure = SignatureCheck.failure(request, secrets: secrets, region: region) {
            signatureFailures += 1
            return Self.error(403, failure.code, failure.message)
        }
        if faults.delayMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(faults.delayMilliseconds)) }
        if faults.resets > 0 {
            faults.resets -= 1
            return .dropConnection
        }
        if faults.throttle > 0 {
            faults.throttle -= 1
            return Self.error(429, "ThrottlingException", "Too many requests, please wait before trying again.", headers: [("Retry-After", "0")])
        }
        if faults.serverErrors > 0 {
            faults.serverErrors -= 1
            return Self.error(500, "InternalServerException", "Internal server error")
        }
        if faults.htmlServerErrors > 0 {
            faults.htmlServerErrors -= 1
            return .respond(status: 500, headers: [("Content-Type", "text/html; charset=utf-8")], body: Array(Self.errorPage.utf8))
        }
        if faults.badRequests > 0 {
            faults.badRequests -= 1
            return .respond(
                status: 400, headers: [("Content-Type", "application/json")],
                body: Array(
                    Self.json([
                        "__type": "com.amazonaws.bedrock#ValidationException",
                        "message":
                            "1 validation error detected:\nValue at 'jobName' failed to satisfy constraint:\r\n  Member must match the pattern",
                    ]).utf8))
        }

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
        case ("POST", 2, "model-customization") where segments[1] == "custom-model-deployments": return createDeployment(request)
        case ("GET", 2, "model-customization") where segments[1] == "custom-model-deployments": return listDeployments(request)
        case ("GET", 3, "model-customization") where segments[1] == "custom-model-deployments": return getDeployment(segments[2])
        case ("DELETE", 3, "model-customization") where segments[1] == "custom-model-deployments": return deleteDeployment(segments[2])
        case ("POST", 3, "model") where segments[2] == "invoke": return await invoke(segments[1], request)
        case ("POST", 3, "model") where segments[2] == "converse": return await invoke(segments[1], request, converse: true)
        default: return Self.error(404, "UnknownOperationException", "no operation \(request.method) \(request.path)")
        }
    }

    /// What a proxy answers for a failing upstream: a whole page, on many lines.
    static let errorPage = """
        <!DOCTYPE html>
        <html lang="en">
        <head><title>500 Internal Server Error</title>
        <style>body { font-family: sans-serif; }</style>
        <script>var retry = "<b>no</b>";</script></head>
        <body>
          <h1>Internal Server Error</h1>
          <p>The server encountered an internal error and was unable to complete your request.
             Either the server is overloaded or there is an error in the application.</p>
          <p>Reference&nbsp;#97.3f1c &amp; more</p>
        </body>
        </html>
        """

    /// A new resource, invisible to the next `notFoundAfterCreate` Gets.
    func created(_ arn: String) {
        if faults.notFoundAfterCreate > 0 { invisible[arn] = faults.notFoundAfterCreate }
    }

    /// Whether a Get of `arn` is answered "not found" this time (and counts it).
    func hidden(_ arn: String) -> Bool {
        guard let left = invisible[arn], left > 0 else { return false }
        invisible[arn] = left - 1
        hiddenGets += 1
        return true
    }

    /// Removes a job, as someone with the account's rights would (`DeleteModelCustomizationJob`
    /// does not exist; a job can vanish only this way, but the daemon must survive it).
    public func vanishJob(_ arn: String) { jobs.removeAll { $0.arn == arn } }

    /// Deletes a throughput behind the daemon's back, as a person in the console would.
    public func vanishThroughput(_ arn: String) {
        guard let index = throughputIndex(arn) else { return }
        deletedThroughputs.append(throughputs[index].arn)
        throughputs.remove(at: index)
    }

    static func error(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = []) -> ServerAction {
        .json(
            status, json(["message": message]),
            headers: [("x-amzn-ErrorType", code + ":http://internal.amazon.com/coral/com.amazon.bedrock/")] + headers)
    }

    static func json(_ object: Any) -> String {
        String(
            decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8),
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
