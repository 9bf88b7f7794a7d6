/// `[backends.NAME]` with `kind = "bedrock"`: where the training data goes, the role Bedrock
/// assumes, how to reach AWS. Checked when the configuration loads, so a typo is a
/// line-numbered error at `reload` rather than a failed paid step hours later.
public struct BedrockSettings: Sendable, Equatable {
    /// Else `AWS_REGION`, `AWS_DEFAULT_REGION` or the AWS profile's region.
    public var region: String?
    /// The IAM role Bedrock assumes to read the training data and write the output.
    public var roleARN: String
    /// Training data goes to `s3://bucket/prefix/<profile>/<workflow-id>/`.
    public var bucket: String
    public var prefix: String = "finetuned"
    /// Job output (metrics, artifacts) goes to `s3://output_bucket/output_prefix/<profile>/<workflow-id>/`.
    public var outputBucket: String?
    public var outputPrefix: String?
    public var kmsKeyID: String?
    public var vpcSubnetIDs: [String] = []
    public var vpcSecurityGroupIDs: [String] = []
    /// An AWS shared-config profile to use instead of `AWS_PROFILE`.
    public var awsProfile: String?
    /// Endpoint overrides, by AWS service key (`s3`, `bedrock`, `bedrock_runtime`), and one for all.
    public var endpointURL: String?
    public var serviceEndpoints: [String: String] = [:]
    public var fips: Bool?
    /// PEM certificates to trust for the AWS endpoints (`ca_file`), before `AWS_CA_BUNDLE`
    /// and the profile's `ca_bundle`.
    public var caFile: String?
    public var s3PathStyle = false
    /// InvokeModel calls in flight at most; halved while the service throttles.
    public var invokeConcurrency = 4
    public var multipartThresholdMiB = 16
    public var partSizeMiB = 8
    public var modelUnits = 1
    /// The operator's tags on every job, custom model, throughput and S3 object, beside
    /// `finetuned:workflow-id` and `finetuned:profile` (which they cannot replace).
    public var tags: [String: String] = [:]

    public init(roleARN: String, bucket: String) {
        self.roleARN = roleARN
        self.bucket = bucket
    }

    public var effectiveOutputBucket: String { outputBucket ?? bucket }
    public var effectiveOutputPrefix: String { outputPrefix ?? (prefix.isEmpty ? "output" : prefix + "/output") }
}

extension ConfigurationLoader {
    static func readBedrock(_ t: inout TableReader) -> BedrockSettings? {
        let region = t.string("region")
        if let region, region.range(of: "^[a-z]{2}(-[a-z]+)+-[0-9]+$", options: .regularExpression) == nil {
            t.error("region", "'\(region)' is not an AWS region name (like us-east-1)")
        }
        let role = t.requiredString("role_arn")
        if let role, role.range(of: "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", options: .regularExpression) == nil {
            t.error("role_arn", "'\(role)' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
        }
        let bucket = t.requiredString("bucket")
        for (key, value) in [("bucket", bucket), ("output_bucket", t.string("output_bucket"))] {
            if let value, value.range(of: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", options: .regularExpression) == nil {
                t.error(key, "'\(value)' is not an S3 bucket name (3–63 lower-case letters, digits, '.' and '-')")
            }
        }
        guard let role, let bucket else { return nil }
        var s = BedrockSettings(roleARN: role, bucket: bucket)
        s.region = region
        s.outputBucket = t.string("output_bucket")
        if let prefix = t.string("prefix") { s.prefix = Self.trimmedPrefix(prefix) }
        s.outputPrefix = t.string("output_prefix").map(Self.trimmedPrefix)
        s.kmsKeyID = t.string("kms_key_id")
        s.vpcSubnetIDs = t.stringArray("vpc_subnet_ids") ?? []
        s.vpcSecurityGroupIDs = t.stringArray("vpc_security_group_ids") ?? []
        if s.vpcSubnetIDs.isEmpty != s.vpcSecurityGroupIDs.isEmpty {
            t.error(
                s.vpcSubnetIDs.isEmpty ? "vpc_security_group_ids" : "vpc_subnet_ids",
                "a VPC configuration needs both vpc_subnet_ids and vpc_security_group_ids")
        }
        s.awsProfile = t.string("aws_profile")
        s.endpointURL = t.string("endpoint_url")
        for service in ["s3", "bedrock", "bedrock_runtime", "sts"] {
            if let url = t.string(service + "_endpoint_url") { s.serviceEndpoints[service] = url }
        }
        for (key, url) in [("endpoint_url", s.endpointURL)] + s.serviceEndpoints.map({ ($0.key + "_endpoint_url", Optional($0.value)) }) {
            if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://")) { t.error(key, "'\(key)' must be an http:// or https:// URL") }
        }
        s.fips = t.bool("fips")
        s.caFile = t.absolutePath("ca_file")
        s.s3PathStyle = t.bool("s3_path_style") ?? false
        s.invokeConcurrency = t.integer("invoke_concurrency", in: 1...64) ?? s.invokeConcurrency
        s.multipartThresholdMiB = t.integer("multipart_threshold_mib", in: 5...5_000) ?? s.multipartThresholdMiB
        s.partSizeMiB = t.integer("part_size_mib", in: 5...5_000) ?? s.partSizeMiB
        s.modelUnits = t.integer("model_units", in: 1...100) ?? s.modelUnits
        if var tags = t.table("tags") {
            for key in tags.entries.keys.sorted() {
                guard let value = tags.string(key) else { continue }
                if key.isEmpty || key.count > 128 || key.lowercased().hasPrefix("aws:") || key.hasPrefix("finetuned:") {
                    tags.error(key, "tag key '\(key)' must be 1–128 characters and not start with aws: or finetuned:")
                } else if value.count > 256 {
                    tags.error(key, "the value of tag '\(key)' is longer than 256 characters")
                } else {
                    s.tags[key] = value
                }
            }
            tags.finish()
        }
        return s
    }

    static func trimmedPrefix(_ prefix: String) -> String {
        prefix.split(separator: "/").joined(separator: "/")
    }
}
