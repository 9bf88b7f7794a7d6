import Foundation

/// The Bedrock control-plane operations the workflow uses, each a typed request and answer
/// over `AWSServiceClient` (SigV4 as `bedrock`, retries, typed errors). Identifiers in paths
/// (names or ARNs) are encoded as path labels: an ARN's `:` and `/` go out as `%3A` and `%2F`.
public struct BedrockClient: Sendable {
    public let client: AWSServiceClient

    public init(client: AWSServiceClient) {
        self.client = client
    }

    static func label(_ identifier: String) -> String { AWSServiceClient.label(identifier) }

    public func createModelCustomizationJob(_ request: CreateModelCustomizationJobRequest) async throws(AWSError) -> String {
        struct Response: Decodable { var jobArn: String }
        return try await client.json("POST", path: "/model-customization-jobs", body: request, as: Response.self).jobArn
    }

    public func getModelCustomizationJob(_ identifier: String) async throws(AWSError) -> ModelCustomizationJob {
        try await client.json("GET", path: "/model-customization-jobs/" + Self.label(identifier), as: ModelCustomizationJob.self)
    }

    public func stopModelCustomizationJob(_ identifier: String) async throws(AWSError) {
        _ = try await client.jsonRaw("POST", path: "/model-customization-jobs/" + Self.label(identifier) + "/stop")
    }

    public func createProvisionedModelThroughput(_ request: CreateProvisionedModelThroughputRequest) async throws(AWSError) -> String {
        struct Response: Decodable { var provisionedModelArn: String }
        return try await client.json("POST", path: "/provisioned-model-throughput", body: request, as: Response.self).provisionedModelArn
    }

    public func getProvisionedModelThroughput(_ identifier: String) async throws(AWSError) -> ProvisionedModelThroughput {
        try await client.json("GET", path: "/provisioned-model-throughput/" + Self.label(identifier), as: ProvisionedModelThroughput.self)
    }

    public func deleteProvisionedModelThroughput(_ identifier: String) async throws(AWSError) {
        _ = try await client.jsonRaw("DELETE", path: "/provisioned-model-throughput/" + Self.label(identifier))
    }

    /// Answers 202 with the deployment's ARN; it is `Creating` until `Active` (or `Failed`).
    public func createCustomModelDeployment(_ request: CreateCustomModelDeploymentRequest) async throws(AWSError) -> String {
        struct Response: Decodable { var customModelDeploymentArn: String }
        return try await client.json("POST", path: "/model-customization/custom-model-deployments", body: request, as: Response.self)
            .customModelDeploymentArn
    }

    /// By ARN or by name.
    public func getCustomModelDeployment(_ identifier: String) async throws(AWSError) -> CustomModelDeployment {
        try await client.json("GET", path: "/model-customization/custom-model-deployments/" + Self.label(identifier), as: CustomModelDeployment.self)
    }

    public func deleteCustomModelDeployment(_ identifier: String) async throws(AWSError) {
        _ = try await client.jsonRaw("DELETE", path: "/model-customization/custom-model-deployments/" + Self.label(identifier))
    }

    public func getCustomModel(_ identifier: String) async throws(AWSError) -> CustomModel {
        try await client.json("GET", path: "/custom-models/" + Self.label(identifier), as: CustomModel.self)
    }

    public func deleteCustomModel(_ identifier: String) async throws(AWSError) {
        _ = try await client.jsonRaw("DELETE", path: "/custom-models/" + Self.label(identifier))
    }

    public func getFoundationModel(_ identifier: String) async throws(AWSError) -> FoundationModel {
        struct Response: Decodable { var modelDetails: FoundationModel }
        return try await client.json("GET", path: "/foundation-models/" + Self.label(identifier), as: Response.self).modelDetails
    }
}

/// Bedrock's runtime: InvokeModel with a body the profile's adapter built.
public struct BedrockRuntimeClient: Sendable {
    public let client: AWSServiceClient

    public init(client: AWSServiceClient) {
        self.client = client
    }

    /// Returns the raw response body for the adapter to parse.
    public func invokeModel(_ modelID: String, body: String) async throws(AWSError) -> String {
        let response = try await client.send(
            "POST", path: "/model/" + AWSServiceClient.label(modelID) + "/invoke",
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: Array(body.utf8))
        return response.text
    }

    /// Converse: one request shape for every model that takes messages; the raw answer.
    public func converse(_ modelID: String, body: String) async throws(AWSError) -> String {
        let response = try await client.send(
            "POST", path: "/model/" + AWSServiceClient.label(modelID) + "/converse",
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: Array(body.utf8))
        return response.text
    }
}
