import FinetunedText
import Foundation

/// The AWS services finetuned talks to, with the names each is known by.
public enum AWSService: String, Sendable, CaseIterable {
    case s3
    case bedrock
    case bedrockRuntime
    case sesv2
    /// Security Token Service: assumed roles and web identity.
    case sts

    /// The suffix of `AWS_ENDPOINT_URL_<SERVICE>`.
    public var environmentSuffix: String {
        switch self {
        case .s3: "S3"
        case .bedrock: "BEDROCK"
        case .bedrockRuntime: "BEDROCK_RUNTIME"
        case .sesv2: "SESV2"
        case .sts: "STS"
        }
    }

    /// The key of a `[services …]` sub-section in the shared config file.
    public var configKey: String { environmentSuffix.lowercased() }

    /// The SigV4 signing name: Bedrock's runtime signs as `bedrock`, SES v2 as `ses`.
    public var signingName: String {
        switch self {
        case .s3: "s3"
        case .bedrock, .bedrockRuntime: "bedrock"
        case .sesv2: "ses"
        case .sts: "sts"
        }
    }

    func defaultHost(region: String, fips: Bool) -> String {
        let prefix: String =
            switch self {
            case .s3: "s3"
            case .bedrock: "bedrock"
            case .bedrockRuntime: "bedrock-runtime"
            case .sesv2: "email"
            case .sts: "sts"
            }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return "\(prefix)\(fips ? "-fips" : "").\(region).\(suffix)"
    }
}

/// Where each service is reached and in which region, resolved the way the SDKs do, with
/// finetuned's own configuration (explicit in the TOML) taking precedence:
/// 1. `endpoints.<service>` / `endpoint_url` in finetuned's backend settings;
/// 2. `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`;
/// 3. the profile's `services` section, then its `endpoint_url`;
/// 4. the service's regional (optionally FIPS) endpoint.
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or the profile's
/// `ignore_configured_endpoint_urls`) skips 2 and 3.
public struct AWSEndpoints: Sendable, Equatable {
    public var region: String
    public var fips: Bool
    /// PEM certificates to trust for these endpoints instead of the system's store (a TLS
    /// proxy in front of AWS, a private endpoint): finetuned's `ca_file`, else
    /// `AWS_CA_BUNDLE`, else the profile's `ca_bundle`, as the AWS CLI reads them.
    public var caBundle: String?
    var urls: [AWSService: String]

    public init(
        configuredRegion: String?, fips: Bool?, configuredEndpoint: String?, configuredServiceEndpoints: [AWSService: String],
        configuredCABundle: String? = nil, environment: [String: String], shared: SharedConfig?
    ) throws(Failure) {
        let region =
            configuredRegion.flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["AWS_DEFAULT_REGION"].flatMap { $0.isEmpty ? nil : $0 }
            ?? shared?.region
        guard let region else {
            throw Failure(.credentials, "no AWS region: set region in the backend's settings, AWS_REGION, or the profile's region")
        }
        guard region.range(of: "^[a-z]{2}(-[a-z]+)+-[0-9]+$", options: .regularExpression) != nil else {
            throw Failure(.credentials, "'\(region)' is not an AWS region name")
        }
        self.region = region
        let useFIPS = fips ?? ((environment["AWS_USE_FIPS_ENDPOINT"] ?? shared?.settings["use_fips_endpoint"])?.lowercased() == "true")
        self.fips = useFIPS
        let ignoreConfigured =
            (environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] ?? shared?.settings["ignore_configured_endpoint_urls"])?
            .lowercased() == "true"
        var urls: [AWSService: String] = [:]
        for service in AWSService.allCases {
            var candidates: [String?] = [configuredServiceEndpoints[service], configuredEndpoint]
            if !ignoreConfigured {
                candidates += [
                    environment["AWS_ENDPOINT_URL_" + service.environmentSuffix], environment["AWS_ENDPOINT_URL"],
                    shared?.serviceEndpoints[service.configKey], shared?.endpointURL,
                ]
            }
            var url = candidates.compactMap { $0 }.first { !$0.isEmpty } ?? "https://" + service.defaultHost(region: region, fips: useFIPS)
            while url.hasSuffix("/") { url.removeLast() }
            do { _ = try HTTPTarget(url) } catch { throw Failure(.credentials, "the \(service.configKey) endpoint '\(url)' is not an http(s) URL") }
            urls[service] = url
        }
        self.urls = urls
        caBundle = [configuredCABundle, environment["AWS_CA_BUNDLE"], shared?.settings["ca_bundle"]].compactMap { $0 }.first { !$0.isEmpty }
    }

    /// The base URL (scheme, host, optional port and path), without a trailing slash.
    public func url(for service: AWSService) -> String { urls[service]! }
}
